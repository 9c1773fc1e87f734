import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, existsSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
	APP_ENTRY,
	ensureBuilt,
	freePort,
	signInOverHttp,
	waitUntilReady
} from '../helpers/built-app';

/**
 * Uploads through the BUILT app (`npm run build` first), started with node on a free port
 * with its own data folder (PGlite and the local object store), as in production.
 */
const LIMIT = 256 * 1024 * 1024;
/** Generous, so that a busy machine never trips it in the other tests. */
const IDLE_TIMEOUT_MS = 3000;
/** Small (seconds), so that an upload outlasting it is quick to send (server.js). */
const REQUEST_TIMEOUT_S = 2;
let server: ChildProcess;
let origin: string;
let dataDir: string;
let cookie = '';

/** Every file below `dir`, relative, sorted (an object store's objects and temporary parts). */
function filesUnder(dir: string): string[] {
	if (!existsSync(dir)) return [];
	return readdirSync(dir, { recursive: true, withFileTypes: true })
		.filter((entry) => entry.isFile())
		.map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
		.sort();
}

function rssOf(pid: number): number {
	const status = readFileSync(`/proc/${pid}/status`, 'utf8');
	return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

beforeAll(async () => {
	ensureBuilt();
	dataDir = mkdtempSync(path.join(os.tmpdir(), 'jiss-upload-http-'));
	const port = await freePort();
	origin = `http://127.0.0.1:${port}`;
	const env: NodeJS.ProcessEnv = {
		...process.env,
		PORT: String(port),
		HOST: '127.0.0.1',
		ORIGIN: origin,
		BODY_SIZE_LIMIT: 'Infinity',
		DATA_DIR: dataDir,
		INTRANET_MODE: 'demo',
		LOG_LEVEL: 'warn',
		UPLOAD_MAX_BYTES: String(LIMIT),
		UPLOAD_IDLE_TIMEOUT_MS: String(IDLE_TIMEOUT_MS),
		REQUEST_TIMEOUT: String(REQUEST_TIMEOUT_S)
	};
	// The embedded database and local store: the server's memory is what is measured here.
	delete env.DATABASE_URL;
	delete env.S3_BUCKET;
	server = spawn(process.execPath, [APP_ENTRY], {
		env,
		stdio: ['ignore', 'ignore', 'inherit']
	});
	await waitUntilReady(origin);
	cookie = await signInOverHttp(origin, 'fellow@jiss.example');
}, 400_000);

afterAll(async () => {
	if (server && server.exitCode === null && server.signalCode === null) {
		server.kill('SIGTERM');
		await new Promise((r) => server.once('exit', r));
	}
	if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const BOUNDARY = '----jissupload';
function head(fileName: string, title = 'Large upload'): Buffer {
	const field = (name: string, value: string) =>
		`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
	return Buffer.from(
		field('title', title) +
			field('level', '0') +
			field('releasability', '1') +
			field('publish', 'on') +
			`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="${fileName}"\r\n` +
			`Content-Type: application/octet-stream\r\n\r\n`
	);
}
const tail = Buffer.from(`\r\n--${BOUNDARY}--\r\n`);

/** A raw upload request; `write` decides the pacing. */
function post(pathname: string) {
	return http.request(`${origin}${pathname}`, {
		method: 'POST',
		headers: {
			origin,
			cookie,
			accept: 'application/json',
			'content-type': `multipart/form-data; boundary=${BOUNDARY}`,
			'transfer-encoding': 'chunked'
		}
	});
}

describe('uploads through the built app', () => {
	it('answers 413 while an over-limit body is still being sent', async () => {
		const request = post('/documents/upload');
		let stillSending = true;
		const answer = new Promise<{ status: number; whileSending: boolean }>((resolve, reject) => {
			request.on('response', (response) => {
				resolve({ status: response.statusCode ?? 0, whileSending: stillSending });
				response.resume();
			});
			request.on('error', reject);
		});
		request.write(head('huge.pdf'));
		request.write(Buffer.from('%PDF-1.7\n'));
		const chunk = Buffer.alloc(1024 * 1024, 0x20);
		let sent = 0;
		let answered = false;
		void answer.then(() => (answered = true)).catch(() => {});
		// Past the limit quickly, then slowly, never ending the body: only the limit can answer.
		while (!answered && sent < LIMIT + 64 * 1024 * 1024) {
			const ok = request.write(chunk);
			sent += chunk.length;
			if (!ok) await Promise.race([new Promise((r) => request.once('drain', r)), answer]);
			if (sent > LIMIT) await new Promise((r) => setTimeout(r, 50));
		}
		const result = await answer;
		stillSending = false;
		request.destroy();
		expect(result).toEqual({ status: 413, whileSending: true });
		expect(sent).toBeGreaterThan(LIMIT);
	}, 120_000);

	it('answers 413 at once when Content-Length says too much', async () => {
		const response = await fetch(`${origin}/documents/upload`, {
			method: 'POST',
			headers: {
				origin,
				cookie,
				accept: 'application/json',
				'content-type': `multipart/form-data; boundary=${BOUNDARY}`,
				'content-length': String(LIMIT * 2)
			},
			body: new Uint8Array(head('x.pdf'))
		}).catch((error: unknown) => error);
		// The server may close before the body is sent; when it answers, it answers 413.
		if (response instanceof Response) expect(response.status).toBe(413);
		else expect(String(response)).toMatch(/fetch failed|other side closed|ECONNRESET|EPIPE/);
	});

	it('stores a 200 MiB upload with bounded server memory and serves it back', async () => {
		const size = 200 * 1024 * 1024;
		const pid = server.pid!;
		const before = rssOf(pid);
		let peak = before;
		const sampler = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 50);
		const request = post('/documents/upload');
		const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
			request.on('response', (response) => {
				let body = '';
				response.on('data', (c) => (body += c));
				response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
			});
			request.on('error', reject);
		});
		request.write(head('big.pdf'));
		const first = Buffer.alloc(1024 * 1024, 0x20);
		first.write('%PDF-1.7\n');
		const chunk = Buffer.alloc(1024 * 1024, 0x20);
		for (let sent = 0; sent < size; sent += chunk.length) {
			if (!request.write(sent === 0 ? first : chunk)) {
				await new Promise((r) => request.once('drain', r));
			}
		}
		request.end(tail);
		const result = await answer;
		clearInterval(sampler);
		expect(result.status, result.body).toBe(201);
		const growth = peak - before;
		console.log(
			`200 MiB upload: server RSS ${Math.round(before / 2 ** 20)} MiB before, peak growth ${Math.round(growth / 2 ** 20)} MiB`
		);
		// A buffered body would add at least the file's size; streaming stays far below.
		expect(growth).toBeLessThan(150 * 1024 * 1024);

		const { id } = JSON.parse(result.body) as { id: number };
		const download = await fetch(`${origin}/documents/${id}/download`, { headers: { cookie } });
		expect(download.status).toBe(200);
		expect(download.headers.get('content-length')).toBe(String(size));
		let received = 0;
		for await (const part of download.body as unknown as AsyncIterable<Uint8Array>) {
			received += part.byteLength;
		}
		expect(received).toBe(size);
	}, 300_000);

	it('cuts off a chunked upload that stalls forever, serving others meanwhile', async () => {
		const objectsBefore = filesUnder(path.join(dataDir, 'objects'));
		const request = post('/documents/upload');
		const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
			request.on('response', (response) => {
				let body = '';
				response.on('data', (c) => (body += c));
				response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
			});
			request.on('error', reject);
		});
		request.write(head('stalled.pdf', 'Stalled upload'));
		const first = Buffer.alloc(64 * 1024, 0x20);
		first.write('%PDF-1.7\n');
		request.write(first);
		// …and then nothing, ever: the body is neither continued nor ended.
		let answered = false;
		void answer.then(() => (answered = true)).catch(() => {});
		const ready = await fetch(`${origin}/readyz`);
		expect(ready.ok).toBe(true);
		expect(answered).toBe(false);
		const list = await fetch(`${origin}/documents`, { headers: { cookie } });
		expect(list.status).toBe(200);
		await list.text();

		const result = await answer;
		request.destroy();
		expect(result.status).toBe(408);
		expect(JSON.parse(result.body)).toEqual({ code: 'idle_timeout', detail: null });
		// The stored part was deleted (and its pending row with it; checked in the database below).
		expect(filesUnder(path.join(dataDir, 'objects'))).toEqual(objectsBefore);
	}, 60_000);

	it('lets an upload that moves steadily outlast the request timeout', async () => {
		const request = post('/documents/upload');
		const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
			request.on('response', (response) => {
				let body = '';
				response.on('data', (c) => (body += c));
				response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
			});
			request.on('error', reject);
		});
		const started = Date.now();
		request.write(head('slow.pdf', 'Slow upload'));
		request.write(Buffer.from('%PDF-1.7\n'));
		// A chunk every 400 ms (well inside the idle timeout) for twice the request timeout.
		while (Date.now() - started < REQUEST_TIMEOUT_S * 2000 + 500) {
			await new Promise((r) => setTimeout(r, 400));
			request.write(Buffer.alloc(16 * 1024, 0x20));
		}
		request.end(tail);
		const result = await answer;
		expect(Date.now() - started).toBeGreaterThan(REQUEST_TIMEOUT_S * 2000);
		expect(result.status, result.body).toBe(201);
	}, 60_000);

	it('still cuts an ordinary form whose body drips past the request timeout', async () => {
		const body = new URLSearchParams({ email: 'x@jiss.example', password: 'y'.repeat(40) });
		const bytes = Buffer.from(body.toString());
		const request = http.request(`${origin}/sign-in?/password`, {
			method: 'POST',
			headers: {
				origin,
				accept: 'text/html',
				'content-type': 'application/x-www-form-urlencoded',
				'content-length': String(bytes.length)
			}
		});
		const started = Date.now();
		const outcome = new Promise<{ status: number | null; after: number }>((resolve) => {
			request.on('response', (response) => {
				response.resume();
				resolve({ status: response.statusCode ?? null, after: Date.now() - started });
			});
			request.on('error', () => resolve({ status: null, after: Date.now() - started }));
		});
		let done = false;
		void outcome.then(() => (done = true));
		// One byte every 300 ms: the whole body would take about 20 s.
		for (let i = 0; i < bytes.length - 1 && !done; i++) {
			request.write(bytes.subarray(i, i + 1));
			await new Promise((r) => setTimeout(r, 300));
		}
		const result = await outcome;
		request.destroy();
		// Answered 408 (or, if the answer was lost with the closed socket, cut) near the timeout.
		expect([408, null]).toContain(result.status);
		expect(result.after).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_S * 1000 - 100);
		expect(result.after).toBeLessThan(REQUEST_TIMEOUT_S * 1000 + 5000);
	}, 60_000);

	it('closes the connection of a refused upload whose body still drips in, signed in or not', async () => {
		// The upload routes have no request timeout (server.js): a refusal must not leave the
		// connection open to be fed a byte at a time for ever; it gets the ordinary one.
		for (const signedIn of [false, true]) {
			const request = http.request(`${origin}/documents/upload`, {
				method: 'POST',
				headers: {
					// Signed in: refused for its Origin; signed out: refused before anything is read.
					origin: signedIn ? 'https://evil.example' : origin,
					...(signedIn ? { cookie } : {}),
					accept: 'application/json',
					'content-type': `multipart/form-data; boundary=${BOUNDARY}`,
					'transfer-encoding': 'chunked'
				}
			});
			const started = Date.now();
			let status = 0;
			let closedAfter = -1;
			request.on('response', (response) => {
				status = response.statusCode ?? 0;
				response.resume();
			});
			request.on('error', () => {});
			request.on('socket', (socket) =>
				socket.on('close', () => (closedAfter = Date.now() - started))
			);
			request.write(head('drip.txt'));
			// A byte every 200 ms for up to three times the request timeout.
			while (closedAfter < 0 && Date.now() - started < REQUEST_TIMEOUT_S * 3000) {
				await new Promise((r) => setTimeout(r, 200));
				if (closedAfter < 0) request.write('x');
			}
			request.destroy();
			expect(status).toBe(signedIn ? 403 : 401);
			expect(closedAfter, 'the server kept the connection open').toBeGreaterThanOrEqual(0);
			expect(closedAfter).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_S * 1000 - 100);
			expect(closedAfter).toBeLessThan(REQUEST_TIMEOUT_S * 1000 + 1500);
		}
	}, 60_000);

	it('refuses a cross-site upload by its Origin', async () => {
		const data = new FormData();
		data.append('file', new File(['x'], 'x.txt'));
		const response = await fetch(`${origin}/documents/upload`, {
			method: 'POST',
			headers: { origin: 'https://evil.example', cookie, accept: 'application/json' },
			body: data
		});
		expect(response.status).toBe(403);
	});

	// Last: it stops the server, whose embedded database only one process may open at a time.
	it('kept no document, version or pending row of the stalled upload', async () => {
		server.kill('SIGTERM');
		await new Promise((r) => server.once('exit', r));
		const db = await PGlite.create({
			dataDir: path.join(dataDir, 'pglite'),
			extensions: { pg_trgm }
		});
		try {
			const docs = await db.query<{ title: string }>('select title from document');
			expect(docs.rows.map((r) => r.title)).not.toContain('Stalled upload');
			const versions = await db.query<{ file_name: string }>(
				'select file_name from document_version'
			);
			expect(versions.rows.map((r) => r.file_name)).not.toContain('stalled.pdf');
			const pending = await db.query('select id from pending_upload');
			expect(pending.rows).toEqual([]);
		} finally {
			await db.close();
		}
	}, 60_000);
});
