// A large upload and download through the BUILT app over HTTP (server.js, as in production),
// with a real S3 server (s3rver) as its object store, against a direct object-store copy of the
// same bytes (put and get through the S3 adapter from this process) measured in the same run.
// FILES_BENCH_MIB sets the size (default 1024, i.e. 1 GiB); the downloads are measured
// FILES_BENCH_ROUNDS times (default 3). Prints MB/s for each transfer, the
// app/direct ratios (target: at least 0.80) and the app process's peak RSS growth during each
// (target: under 100 MB), sampled from /proc/<pid>/status. With DATABASE_URL the app uses a
// throwaway database on that PostgreSQL server (dropped afterwards); without it the embedded
// one, which lives inside the app process and so adds to its RSS (not to its growth).
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import postgres from 'postgres';
import { loadConfig } from '../../src/lib/server/config';
import { createObjectStore } from '../../src/lib/server/storage';
import {
	APP_ENTRY,
	ensureBuilt,
	freePort,
	signInOverHttp,
	waitUntilReady
} from '../helpers/built-app';
import { S3RVER_CREDENTIALS, startS3Server } from '../helpers/s3';
import { cpuSecondsOf } from './support/cpu';

const MiB = 1024 * 1024;
const MB = 1_000_000;
const size = Number(process.env.FILES_BENCH_MIB ?? 1024) * MiB;
if (!Number.isSafeInteger(size) || size < MiB) throw new Error('FILES_BENCH_MIB must be >= 1');
const ROUNDS = Number(process.env.FILES_BENCH_ROUNDS ?? 3);
if (!Number.isSafeInteger(ROUNDS) || ROUNDS < 1) throw new Error('FILES_BENCH_ROUNDS must be >= 1');

// PNG: on the allowlist, checked on its magic bytes alone, and neither text-extracted (that is
// PDFs and text files) nor watermarked (PDFs only), so the app's work is exactly what every
// large file costs: type inspection, hashing, streaming to the store and back, the audit event.
const MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
// One random MiB repeated: incompressible, generated once, never the whole file in memory.
const block = randomBytes(MiB);
const firstBlock = Buffer.concat([MAGIC, block.subarray(MAGIC.length)]);
function* fileBytes(length = size): Generator<Buffer> {
	for (let sent = 0; sent < length; sent += MiB) {
		const chunk = sent === 0 ? firstBlock : block;
		yield length - sent < MiB ? chunk.subarray(0, length - sent) : chunk;
	}
}
const expected = (() => {
	const hash = createHash('sha256');
	for (const chunk of fileBytes()) hash.update(chunk);
	return hash.digest('hex');
})();

/** Peak RSS of a process while `run` runs, sampled every 20 ms, and its VmHWM afterwards. */
function status(pid: number): { rss: number; hwm: number } {
	const text = readFileSync(`/proc/${pid}/status`, 'utf8');
	const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(text)![1]) * 1024;
	return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

interface Measured {
	mbPerSecond: number;
	rssGrowth: number;
	hwm: number;
	/** CPU time the measured process spent per MB moved (user + system). */
	cpuMsPerMb: number;
}

async function measure(pid: number, run: () => Promise<void>): Promise<Measured> {
	const before = status(pid);
	const cpuBefore = cpuSecondsOf(pid);
	let peak = before.rss;
	const sampler = setInterval(() => (peak = Math.max(peak, status(pid).rss)), 20);
	const started = performance.now();
	await run();
	const seconds = (performance.now() - started) / 1000;
	clearInterval(sampler);
	const after = status(pid);
	peak = Math.max(peak, after.rss);
	return {
		mbPerSecond: size / MB / seconds,
		rssGrowth: peak - before.rss,
		hwm: after.hwm,
		cpuMsPerMb: ((cpuSecondsOf(pid) - cpuBefore) * 1000) / (size / MB)
	};
}

async function sha256Of(body: AsyncIterable<Uint8Array>): Promise<{ sha256: string; n: number }> {
	const hash = createHash('sha256');
	let n = 0;
	for await (const chunk of body) {
		hash.update(chunk);
		n += chunk.byteLength;
	}
	return { sha256: hash.digest('hex'), n };
}

function check(label: string, got: { sha256: string; n: number }): void {
	if (got.n !== size || got.sha256 !== expected) {
		throw new Error(`${label}: got ${got.n} bytes with SHA-256 ${got.sha256}, not the file`);
	}
}

const BOUNDARY = '----jissfilesbench';
function uploadOverHttp(origin: string, cookie: string, length = size): Promise<number> {
	const field = (name: string, value: string) =>
		`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
	const head = Buffer.from(
		field('title', 'Files bench') +
			field('level', '0') +
			field('releasability', '1') +
			field('publish', 'on') +
			`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="bench.png"\r\n` +
			`Content-Type: image/png\r\n\r\n`
	);
	const tail = Buffer.from(`\r\n--${BOUNDARY}--\r\n`);
	return new Promise((resolve, reject) => {
		const request = http.request(`${origin}/documents/upload`, {
			method: 'POST',
			headers: {
				origin,
				cookie,
				accept: 'application/json',
				'content-type': `multipart/form-data; boundary=${BOUNDARY}`,
				'content-length': String(head.length + length + tail.length)
			}
		});
		request.on('error', reject);
		request.on('response', (response) => {
			let body = '';
			response.on('data', (c: Buffer) => (body += c.toString('utf8')));
			response.on('end', () => {
				if (response.statusCode !== 201)
					reject(new Error(`upload: ${response.statusCode} ${body}`));
				else resolve((JSON.parse(body) as { id: number }).id);
			});
		});
		Readable.from(
			(function* () {
				yield head;
				yield* fileBytes(length);
				yield tail;
			})()
		).pipe(request);
	});
}

function downloadOverHttp(origin: string, cookie: string, id: number) {
	return getOverHttp(`${origin}/documents/${id}/download`, cookie);
}

function getOverHttp(url: string, cookie = '') {
	return new Promise<{ sha256: string; n: number }>((resolve, reject) => {
		http
			.get(url, { headers: { cookie } }, (response) => {
				if (response.statusCode !== 200) {
					reject(new Error(`download: ${response.statusCode}`));
					response.resume();
					return;
				}
				sha256Of(response).then(resolve, reject);
			})
			.on('error', reject);
	});
}

/** `who`: the process whose RSS and CPU were sampled (the app, or the bare relay for its row). */
const row = (label: string, m: Measured, who = 'app') =>
	`${label.padEnd(30)} ${m.mbPerSecond.toFixed(0).padStart(6)} MB/s   ${who} RSS peak ` +
	`+${(m.rssGrowth / MB).toFixed(0)} MB   ${who} CPU ${m.cpuMsPerMb.toFixed(2)} ms/MB`;

ensureBuilt();
const s3 = await startS3Server('jiss-files-bench');
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'jiss-files-bench-'));
let app: ChildProcess | undefined;
let proxy: ChildProcess | undefined;
const adminUrl = process.env.DATABASE_URL;
const databaseName = `jiss_files_bench_${randomBytes(4).toString('hex')}`;
async function admin(statement: string): Promise<void> {
	const sql = postgres(adminUrl!, { max: 1, onnotice: () => {} });
	try {
		await sql.unsafe(statement);
	} finally {
		await sql.end();
	}
}
try {
	const s3Env = {
		S3_BUCKET: s3.bucket,
		S3_ENDPOINT: s3.endpoint,
		S3_FORCE_PATH_STYLE: 'true',
		S3_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
		S3_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey
	};
	// The same adapter and settings as the app's, in this process: the direct copy.
	const direct = await createObjectStore(
		loadConfig({ DATA_DIR: dataDir, INTRANET_MODE: 'demo', ...s3Env }).storage
	);
	const port = await freePort();
	const origin = `http://127.0.0.1:${port}`;
	const env: NodeJS.ProcessEnv = {
		...process.env,
		...s3Env,
		PORT: String(port),
		HOST: '127.0.0.1',
		ORIGIN: origin,
		BODY_SIZE_LIMIT: 'Infinity',
		DATA_DIR: dataDir,
		INTRANET_MODE: 'demo',
		LOG_LEVEL: 'warn',
		UPLOAD_MAX_BYTES: String(size + MiB)
	};
	if (adminUrl) {
		await admin(`create database ${databaseName}`);
		const url = new URL(adminUrl);
		url.pathname = `/${databaseName}`;
		env.DATABASE_URL = url.toString();
	}
	app = spawn(
		process.execPath,
		[...(process.env.BENCH_APP_NODE_ARGS ?? '').split(' ').filter(Boolean), APP_ENTRY],
		{ env, stdio: ['ignore', 'ignore', 'inherit'] }
	);
	await waitUntilReady(origin);
	const cookie = await signInOverHttp(origin, 'fellow@jiss.example');
	const pid = app.pid!;
	// Warm the app's code paths with a small file, so that loading them is not counted.
	await downloadOverHttp(origin, cookie, await uploadOverHttp(origin, cookie, MiB));
	console.log(
		`files: ${size / MiB} MiB (${(size / MB).toFixed(0)} MB), s3rver object store, ` +
			`${adminUrl ? 'PostgreSQL' : 'embedded'} database, app pid ${pid}, ` +
			`RSS at start ${(status(pid).rss / MB).toFixed(0)} MB`
	);

	let directKey = '';
	const directPut = await measure(pid, async () => {
		directKey = (await direct.put('versions', Readable.from(fileBytes()))).key;
	});
	let id = 0;
	const appPut = await measure(pid, async () => {
		id = await uploadOverHttp(origin, cookie);
	});
	// The floor: the same object through the smallest Node server that relays it (its own
	// process, the same S3 adapter, piped straight through: tests/bench/support/object-proxy.ts).
	proxy = spawn(
		process.execPath,
		['--import', 'tsx', path.join(import.meta.dirname, 'support', 'object-proxy.ts'), directKey],
		{
			env: { ...process.env, ...s3Env, DATA_DIR: dataDir, INTRANET_MODE: 'demo' },
			stdio: ['ignore', 'pipe', 'inherit']
		}
	);
	const proxyPort = await new Promise<number>((resolve, reject) => {
		createInterface({ input: proxy!.stdout! }).once('line', (line) => resolve(Number(line)));
		proxy!.once('exit', (code) => reject(new Error(`object proxy exited with code ${code}`)));
	});
	const proxyUrl = `http://127.0.0.1:${proxyPort}/`;
	check('object proxy', await getOverHttp(proxyUrl)); // warm, as the app was

	// Downloads vary by a third from one transfer to the next on a shared 2-core machine, so
	// the three are measured ROUNDS times, back to back in each round (in a rotating order),
	// and compared round by round: each ratio below is the median of the rounds' ratios.
	const downloads = {
		direct: async () => check('direct get', await sha256Of((await direct.get(directKey)).body)),
		app: async () => check('app download', await downloadOverHttp(origin, cookie, id)),
		relay: async () => check('object proxy', await getOverHttp(proxyUrl))
	};
	const order = ['direct', 'app', 'relay'] as const;
	const rounds: Record<(typeof order)[number], Measured>[] = [];
	for (let round = 0; round < ROUNDS; round++) {
		const measured: Partial<Record<(typeof order)[number], Measured>> = {};
		for (let i = 0; i < order.length; i++) {
			const which = order[(i + round) % order.length]!;
			measured[which] = await measure(which === 'relay' ? proxy.pid! : pid, downloads[which]);
		}
		rounds.push(measured as Record<(typeof order)[number], Measured>);
	}
	await direct.delete(directKey);

	const median = (values: number[]) => {
		const sorted = [...values].sort((a, b) => a - b);
		const mid = Math.floor(sorted.length / 2);
		return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
	};
	/** The rounds of one download as one row: median speed and CPU, largest RSS growth. */
	const summary = (which: (typeof order)[number]): Measured => {
		const all = rounds.map((r) => r[which]);
		return {
			mbPerSecond: median(all.map((m) => m.mbPerSecond)),
			rssGrowth: Math.max(...all.map((m) => m.rssGrowth)),
			hwm: Math.max(...all.map((m) => m.hwm)),
			cpuMsPerMb: median(all.map((m) => m.cpuMsPerMb))
		};
	};
	const speeds = (which: (typeof order)[number]) =>
		rounds.map((r) => r[which].mbPerSecond.toFixed(0)).join(', ');
	const appGet = summary('app');

	console.log(row('direct object-store put', directPut));
	console.log(row('upload through the app', appPut));
	console.log(
		`downloads: ${ROUNDS} rounds; MB/s and CPU the median, RSS growth the largest of the rounds`
	);
	console.log(`${row('direct object-store get', summary('direct'))}   (${speeds('direct')})`);
	console.log(`${row('download through the app', appGet)}   (${speeds('app')})`);
	console.log(
		`${row('download, bare Node relay', summary('relay'), 'relay')}   (${speeds('relay')})`
	);
	const ratios = (a: (typeof order)[number], b: (typeof order)[number]) => {
		const each = rounds.map((r) => r[a].mbPerSecond / r[b].mbPerSecond);
		return `${median(each).toFixed(2)} (rounds: ${each.map((x) => x.toFixed(2)).join(', ')})`;
	};
	console.log(
		`upload ratio (app / direct):    ${(appPut.mbPerSecond / directPut.mbPerSecond).toFixed(2)}  (target >= 0.80)`
	);
	console.log(`download ratio (app / direct):  ${ratios('app', 'direct')}  (target >= 0.80)`);
	console.log(`download ratio (bare relay / direct): ${ratios('relay', 'direct')}`);
	console.log(`download ratio (app / bare relay):    ${ratios('app', 'relay')}`);
	console.log(
		`app peak RSS growth: upload +${(appPut.rssGrowth / MB).toFixed(0)} MB, download ` +
			`+${(appGet.rssGrowth / MB).toFixed(0)} MB (target < 100 MB); VmHWM ` +
			`${(appGet.hwm / MB).toFixed(0)} MB; SHA-256 of every download matches`
	);
} finally {
	if (proxy && proxy.exitCode === null && proxy.signalCode === null) {
		proxy.kill('SIGTERM');
		await new Promise((r) => proxy!.once('exit', r));
	}
	if (app && app.exitCode === null && app.signalCode === null) {
		app.kill('SIGTERM');
		await new Promise((r) => app!.once('exit', r));
	}
	await s3.stop();
	if (adminUrl) await admin(`drop database if exists ${databaseName} with (force)`);
	rmSync(dataDir, { recursive: true, force: true });
}
