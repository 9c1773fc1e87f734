// Vault benchmarks on the real PostgreSQL server (DATABASE_URL, default the local server) through
// the built app (build/index.js) over HTTP, as a signed-in mid-level staff member:
// the document list and searches (one-, two- and four-character Japanese, an English word) with
// BENCH_VAULT_DOCS documents (default 100,000) and BENCH_VAULT_USERS accounts (default 1,000),
// against a bare page served by the same process (the sign-in page). Each route cold (every
// request a filter the list cache has not seen) and warm (the same URL again), and paging
// through pages 2-5 by keyset cursor. Requests per second and p50/p95 latency, each also as a
// ratio of the baseline measured in the same run.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eq, sql } from 'drizzle-orm';
import postgres from 'postgres';
import * as sessions from '../../src/lib/server/auth/sessions';
import { getLookupDb, openDatabase, setDatabase } from '../../src/lib/server/db';
import * as schema from '../../src/lib/server/db/schema';
import { parseListQuery } from '../../src/lib/schemas/documents';
import * as pages from '../../src/lib/server/vault/pages';
import {
	lookupSessionWithReader,
	requestReaderFromSession
} from '../../src/lib/server/vault/reader';
import { seedCorpus, seedReferences } from '../helpers/vault-corpus';
import { freePort } from '../helpers/ports';
import { cpuSecondsOf } from './support/cpu';

const serverUrl =
	process.env.DATABASE_URL ||
	process.env.BENCH_DATABASE_URL ||
	'postgres://postgres@127.0.0.1:5432/postgres';
const DOCS = Number(process.env.BENCH_VAULT_DOCS ?? 100_000);
const USERS = Number(process.env.BENCH_VAULT_USERS ?? 1_000);
const SECONDS = Number(process.env.BENCH_VAULT_SECONDS ?? 5);
const CONCURRENCY = Number(process.env.BENCH_VAULT_CONCURRENCY ?? 8);
// Unmeasured load before each measurement, so that every route is measured with its code
// optimised by the JIT (the first routes otherwise pay for compiling what later ones reuse).
const WARMUP = Number(process.env.BENCH_VAULT_WARMUP ?? 1);

const fmt = (n: number, digits = 0) =>
	n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

if (!existsSync('build/index.js')) {
	console.log('vault bench: no build yet, building once…');
	const build = spawnSync('npm', ['run', 'build'], { stdio: 'inherit' });
	if (build.status !== 0) process.exit(build.status ?? 1);
}

const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
try {
	await admin`select 1`;
} catch (error) {
	console.log(`vault bench: no PostgreSQL server at ${serverUrl} (${(error as Error).message}).`);
	process.exit(1);
}
// BENCH_VAULT_DATABASE names a database an earlier run kept (BENCH_KEEP=1): it is used as it is,
// without seeding, and kept again.
const reused = process.env.BENCH_VAULT_DATABASE;
if (reused !== undefined && !/^jiss_bench_[0-9a-f]{8}$/.test(reused)) {
	console.log(`vault bench: BENCH_VAULT_DATABASE must name a kept bench database, not ${reused}`);
	process.exit(1);
}
const name = reused ?? `jiss_bench_${randomBytes(4).toString('hex')}`;
if (!reused) await admin.unsafe(`create database ${name}`);
const url = new URL(serverUrl);
url.pathname = `/${name}`;
const benchUrl = url.toString();
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'jiss-vault-bench-'));
let app: ReturnType<typeof spawn> | undefined;

try {
	const handle = await openDatabase(
		{ kind: 'postgres', url: benchUrl, ownerUrl: benchUrl, poolSize: 4 },
		{ migrate: true }
	);
	const db = handle.db;
	const started = performance.now();
	let reader: number;
	if (reused) {
		const [row] = await db
			.select({ id: schema.account.id })
			.from(schema.account)
			.where(eq(schema.account.email, 'user0@bench.example'));
		if (!row) throw new Error(`${name} holds no bench reader`);
		reader = row.id;
	} else {
		const { orgs, comps } = await seedReferences(db);
		const accounts: number[] = [];
		for (let start = 0; start < USERS; start += 500) {
			const batch = Array.from({ length: Math.min(500, USERS - start) }, (_, i) => ({
				email: `user${start + i}@bench.example`,
				displayName: `Bench user ${start + i}`,
				organisationId: orgs[(start + i) % 10 === 9 ? 1 : 0]!.id,
				roles: [(start + i) % 10 === 9 ? 'liaison' : 'staff'] as schema.Role[],
				status: 'active' as const
			}));
			const rows = await db
				.insert(schema.account)
				.values(batch)
				.returning({ id: schema.account.id });
			accounts.push(...rows.map((r) => r.id));
		}
		// The reader: staff, CONFIDENTIAL, read in to SDA (a mid-level user).
		reader = accounts[0]!;
		await db.insert(schema.grant).values([
			{ accountId: reader, kind: 'level', levelRank: 2, reason: 'bench' },
			{ accountId: reader, kind: 'compartment', compartmentId: comps[0]!.id, reason: 'bench' }
		]);
		await seedCorpus(db, {
			count: DOCS,
			orgIds: orgs.map((o) => o.id),
			compartmentIds: comps.map((c) => c.id),
			authorIds: accounts.slice(0, 200)
		});
		// As autovacuum leaves a table soon after a bulk load: statistics, and the visibility map that
		// lets counts and facets read the covering index alone.
		await db.execute(sql`vacuum analyze document`);
	}
	const { token } = await sessions.create(db, {
		accountId: reader,
		mfaVerified: true,
		lifetimes: { idleMinutes: 600, absoluteHours: 12 }
	});
	await handle.close();
	if (!reused)
		console.log(
			`seeded ${fmt(DOCS)} documents and ${fmt(USERS)} accounts in ${fmt((performance.now() - started) / 1000, 1)} s`
		);

	const port = await freePort();
	const origin = `http://127.0.0.1:${port}`;
	app = spawn(
		process.execPath,
		[...(process.env.BENCH_APP_NODE_ARGS ?? '').split(' ').filter(Boolean), 'server.js'],
		{
			stdio: ['ignore', 'ignore', 'inherit'],
			env: {
				...process.env,
				DATABASE_URL: benchUrl,
				INTRANET_MODE: 'demo',
				DATA_DIR: dataDir,
				PORT: String(port),
				HOST: '127.0.0.1',
				ORIGIN: origin,
				LOG_LEVEL: 'error'
			}
		}
	);
	for (let i = 0; i < 600; i++) {
		const ready = await fetch(`${origin}/readyz`).catch(() => null);
		if (ready?.ok) break;
		await new Promise((resolve) => setTimeout(resolve, 100));
	}

	const cookie = `session=${token}`;
	const signedIn = { accept: 'text/html', cookie };
	async function get(target: string, headers: Record<string, string>) {
		const response = await fetch(origin + target, { headers, redirect: 'manual' });
		const body = await response.text();
		if (response.status !== 200) throw new Error(`${target} answered ${response.status}`);
		return body;
	}
	const postgresPids = () =>
		readdirSync('/proc').filter((pid) => {
			if (!/^\d+$/.test(pid)) return false;
			try {
				return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres';
			} catch {
				return false;
			}
		});
	/** CPU seconds used so far by the app, by every PostgreSQL process, and by this process. */
	const cpuNow = () => {
		const own = process.cpuUsage();
		return {
			app: cpuSecondsOf(app!.pid!),
			db: postgresPids().reduce((sum, pid) => sum + cpuSecondsOf(pid), 0),
			client: (own.user + own.system) / 1e6
		};
	};
	/** `targetOf(i)` is the i-th request's URL: the same one (warm) or a new one each time (cold). */
	function measure(label: string, targetOf: (i: number) => string, headers = signedIn) {
		return measureRuns(label, (i) => get(targetOf(i), headers));
	}
	/** Runs `once` from CONCURRENCY loops: a check, WARMUP s unmeasured, then SECONDS measured. */
	async function measureRuns(label: string, once: (i: number) => Promise<unknown>) {
		let n = 0;
		// A check that the route answers what we think (and, for warm runs, the first fill).
		await once(n++);
		const warm = performance.now() + WARMUP * 1000;
		await Promise.all(
			Array.from({ length: CONCURRENCY }, async () => {
				while (performance.now() < warm) await once(n++);
			})
		);
		const latencies: number[] = [];
		const cpuBefore = cpuNow();
		const until = performance.now() + SECONDS * 1000;
		await Promise.all(
			Array.from({ length: CONCURRENCY }, async () => {
				while (performance.now() < until) {
					const i = n++;
					const t0 = performance.now();
					await once(i);
					latencies.push(performance.now() - t0);
				}
			})
		);
		latencies.sort((a, b) => a - b);
		const at = (q: number) =>
			latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
		const cpuAfter = cpuNow();
		const perRequest = (key: keyof typeof cpuBefore) =>
			((cpuAfter[key] - cpuBefore[key]) * 1000) / latencies.length;
		return {
			label,
			rps: latencies.length / SECONDS,
			p50: at(0.5),
			p95: at(0.95),
			cpu: { app: perRequest('app'), db: perRequest('db'), client: perRequest('client') }
		};
	}
	// Cold: every request carries a "changed since" date no request used before, all before the
	// corpus begins (so the same documents match), which the list cache has never seen: each
	// request computes its counts, facets and page in SQL, as the first request of a filter does.
	const day = Date.UTC(1900, 0, 1);
	const unseen = (i: number) => {
		if (i > 45_000) throw new Error('cold run out of unseen dates');
		return `from=${new Date(day + i * 86_400_000).toISOString().slice(0, 10)}`;
	};
	const withParam = (target: string, param: string) =>
		target + (target.includes('?') ? '&' : '?') + param;

	const baseline = await measure('bare page (/sign-in)', () => '/sign-in', {
		accept: 'text/html',
		cookie: ''
	});
	const routes: [string, string][] = [
		['document list, first page', '/documents'],
		['list filtered by level and compartment', '/documents?level=1&level=2&compartment=SDA'],
		['search "宇" (1 character)', `/documents?q=${encodeURIComponent('宇')}`],
		['search "暗号" (2 characters)', `/documents?q=${encodeURIComponent('暗号')}`],
		['search "安全保障" (4 characters)', `/documents?q=${encodeURIComponent('安全保障')}`],
		['search "orbit"', '/documents?q=orbit']
	];
	const runs = [];
	const only = process.env.BENCH_VAULT_ONLY;
	for (const [label, target] of routes) {
		if (only && !`${label}, warm`.includes(only)) continue;
		runs.push(await measure(`${label}, cold`, (i) => withParam(target, unseen(i))));
		runs.push(await measure(`${label}, warm`, () => target));
	}
	// Paging: pages 2 to 5 of the list and of a search, following each page's keyset cursor.
	for (const [label, target] of [
		['list, pages 2-5', '/documents'],
		['search "orbit", pages 2-5', '/documents?q=orbit']
	] as const) {
		if (only && !label.includes(only)) continue;
		const pages: string[] = [];
		let next: string = target;
		for (let page = 2; page <= 5; page++) {
			const cursor = /[?&;]cursor=([A-Za-z0-9_-]+)/.exec(await get(next, signedIn))?.[1];
			if (!cursor) throw new Error(`${next}: no next page`);
			next = withParam(target, `cursor=${cursor}`);
			pages.push(next);
		}
		runs.push(
			await measure(`${label}, cold`, (i) => withParam(pages[i % pages.length]!, unseen(i)))
		);
		runs.push(await measure(`${label}, warm`, (i) => pages[i % pages.length]!));
	}
	// The warm list's own work without HTTP or SvelteKit: what the list's handle and load run
	// (the session and reader lookup, the cached counts and page ids, the page's rows re-read
	// by id, the audit event committed, the entries made), called from this process with the
	// app's own functions on a database handle like the app's. This process is idle otherwise,
	// so its CPU column is that work's cost in JavaScript (drivers included); the app's stays idle.
	let floor: Awaited<ReturnType<typeof measureRuns>> | undefined;
	const listWarm = runs.find((r) => r.label === 'document list, first page, warm');
	if (listWarm) {
		process.env.DATA_DIR = dataDir;
		process.env.INTRANET_MODE = 'demo';
		process.env.DATABASE_URL = benchUrl;
		process.env.LOG_LEVEL = 'error';
		const own = await openDatabase({
			kind: 'postgres',
			url: benchUrl,
			ownerUrl: benchUrl,
			poolSize: 10
		});
		setDatabase(own);
		const query = parseListQuery(new URLSearchParams());
		try {
			floor = await measureRuns("the warm list's own work, no HTTP/SvelteKit", async () => {
				const valid = await sessions.validate(getLookupDb(), token, {
					lookup: lookupSessionWithReader
				});
				if (!valid) throw new Error('bench session refused');
				const { reader, generation } = requestReaderFromSession(valid.user, valid.extra);
				if (!reader) throw new Error('bench reader inactive');
				const result = await pages.listPage(
					{
						user: valid.user,
						reader: { ...reader, sessionId: valid.session.id },
						audit: {
							actor: { id: valid.user.id, name: valid.user.displayName, roles: valid.user.roles },
							ip: '127.0.0.1',
							userAgent: 'node',
							requestId: randomUUID()
						},
						generation,
						locale: 'en',
						timeZone: 'Asia/Tokyo'
					},
					query
				);
				if (result.items.length === 0) throw new Error('the list returned no rows');
			});
		} finally {
			setDatabase(undefined);
			await own.close();
		}
	}
	console.log(
		`\n${fmt(DOCS)} documents, ${fmt(USERS)} accounts, ${CONCURRENCY} concurrent clients, ${SECONDS} s each after ${WARMUP} s unmeasured, reader CONFIDENTIAL + SDA`
	);
	console.log(
		'cold: each request a filter the list cache has not seen (counts, facets and page computed in SQL);'
	);
	console.log(
		'warm: the same URL again, counts, facets and page ids from the cache, rows re-read by id'
	);
	console.log(
		[
			'route'.padEnd(48),
			'req/s'.padStart(8),
			'p50 ms'.padStart(8),
			'p95 ms'.padStart(8),
			'req/s vs bare'.padStart(14),
			'p95 vs bare'.padStart(12),
			'CPU ms/req: app'.padStart(16),
			'db'.padStart(6),
			'client'.padStart(7)
		].join(' ')
	);
	for (const r of [baseline, ...runs]) {
		console.log(
			[
				r.label.padEnd(48),
				fmt(r.rps).padStart(8),
				fmt(r.p50, 1).padStart(8),
				fmt(r.p95, 1).padStart(8),
				`${fmt((r.rps / baseline.rps) * 100)} %`.padStart(14),
				`${fmt(r.p95 / baseline.p95, 1)}×`.padStart(12),
				fmt(r.cpu.app, 2).padStart(16),
				fmt(r.cpu.db, 2).padStart(6),
				fmt(r.cpu.client, 2).padStart(7)
			].join(' ')
		);
	}
	console.log('(each list and search request also appends its audit event to the hash chain)');
	if (floor && listWarm) {
		// On these cores a route is held back by the app's one JavaScript thread (its CPU per
		// request) and by the cores all three processes share (the sum). A list costs at least
		// the bare page (HTTP, hooks, a rendered page, the load generator's side) plus its own
		// work, measured above without them: the rate that would allow, as a share of the bare page's.
		const f = floor.cpu;
		const b = baseline.cpu;
		const thread = 1000 / (b.app + f.client);
		const cores = (os.cpus().length * 1000) / (b.app + b.client + f.client + f.db);
		const bound = Math.min(thread, cores);
		console.log(
			`\n${floor.label}: ${fmt(floor.rps)} req/s, p50 ${fmt(floor.p50, 1)} ms, p95 ${fmt(floor.p95, 1)} ms; CPU ms/req: its JavaScript ${fmt(f.client, 2)}, db ${fmt(f.db, 2)}`
		);
		console.log(
			`the warm list cost the app ${fmt(listWarm.cpu.app, 2)} ms of CPU per request, of which its own work ${fmt(f.client, 2)} ms and HTTP, SvelteKit and rendering the rest (${fmt(listWarm.cpu.app - f.client, 2)} ms; the bare page ${fmt(b.app, 2)} ms)`
		);
		console.log(
			`a list costing only the bare page plus its own work: at most ${fmt(bound)} req/s (${fmt((bound / baseline.rps) * 100)} % of the bare page; app thread ${fmt(thread)}, ${os.cpus().length} cores ${fmt(cores)})`
		);
	}

	console.log(
		'CPU ms/req: CPU time per request of the app process, of all PostgreSQL processes, and of this load generator'
	);
} finally {
	if (app && app.exitCode === null) {
		app.kill('SIGTERM');
		await new Promise((resolve) => app!.once('exit', resolve));
	}
	if (process.env.BENCH_KEEP || reused) console.log(`(kept database ${name})`);
	else await admin.unsafe(`drop database if exists ${name} with (force)`);
	await admin.end();
	rmSync(dataDir, { recursive: true, force: true });
}
