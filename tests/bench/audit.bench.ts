// Audit log benchmarks on the real PostgreSQL server (DATABASE_URL, default the local server):
// append throughput with 1 and 8 writers against plain inserts, verification time for a chain of
// BENCH_AUDIT_EVENTS events (default 1,000,000) against a bare read of the same rows, and p95 of
// filtered log pages with BENCH_AUDIT_PAGE_EVENTS rows (default 5,000,000) against a key lookup.
// Events are six seconds apart (5 M events are about a year). The rows beyond the chain are
// generated in SQL with skewed, realistic distributions (a few busy people and popular documents,
// mostly views, a few denials); they are not a valid chain, which the page timings do not need.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { rmSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import {
	appendAuditEvents,
	appendOwnTransaction,
	formatTimeText,
	parseTimeText
} from '../../src/lib/server/audit/append';
import { record } from '../../src/lib/server/audit/index';
import { chainHash, type ChainedFields } from '../../src/lib/server/audit/chain';
import { loadSigningKey } from '../../src/lib/server/audit/signing';
import { verifyChain } from '../../src/lib/server/audit/verify';
import * as workspace from '../../src/lib/server/audit/workspace';
import type { SessionUser } from '../../src/lib/server/auth/types';
import { loadConfig, setConfig } from '../../src/lib/server/config';
import { openDatabase, setDatabase, type Database } from '../../src/lib/server/db';
import { createLocalObjectStore } from '../../src/lib/server/storage/local';

const serverUrl =
	process.env.DATABASE_URL ||
	process.env.BENCH_DATABASE_URL ||
	'postgres://postgres@127.0.0.1:5432/postgres';
const EVENTS = Number(process.env.BENCH_AUDIT_EVENTS ?? 1_000_000);
const PAGE_EVENTS = Math.max(EVENTS, Number(process.env.BENCH_AUDIT_PAGE_EVENTS ?? 5_000_000));
const SECONDS = Number(process.env.BENCH_AUDIT_SECONDS ?? 5);
// Each append measure first runs this long uncounted: connections opened, statements prepared
// (one per batch size), caches warm; what is measured is the steady state a server runs in.
const WARMUP_SECONDS = Number(process.env.BENCH_AUDIT_WARMUP_SECONDS ?? 1);

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const withDatabase = (url: string, name: string) => {
	const u = new URL(url);
	u.pathname = `/${name}`;
	return u.toString();
};

async function forDuration(
	writers: number,
	work: (db: Database, writer: number) => Promise<number>
) {
	// Each writer is a one-connection database handle configured as the app's (named prepared
	// statements, plans per execution), baseline included.
	const handles = await Promise.all(
		Array.from({ length: writers }, () =>
			openDatabase({ kind: 'postgres', url: benchUrl, ownerUrl: benchUrl, poolSize: 1 })
		)
	);
	const dbs = handles.map((h) => h.db);
	const warm = performance.now() + WARMUP_SECONDS * 1000;
	await Promise.all(
		dbs.map(async (db, w) => {
			while (performance.now() < warm) await work(db, w);
		})
	);
	const until = performance.now() + SECONDS * 1000;
	const counts = await Promise.all(
		dbs.map(async (db, w) => {
			let n = 0;
			while (performance.now() < until) n += await work(db, w);
			return n;
		})
	);
	await Promise.all(handles.map((h) => h.close()));
	return counts.reduce((a, b) => a + b, 0) / SECONDS;
}

const name = `jiss_bench_${randomBytes(4).toString('hex')}`;
const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
try {
	await admin`select 1`;
} catch (error) {
	console.log(
		`audit bench: no PostgreSQL server at ${serverUrl} (${(error as Error).message}); nothing measured.`
	);
	process.exit(1);
}
await admin.unsafe(`create database ${name}`);
const benchUrl = withDatabase(serverUrl, name);
const handle = await openDatabase(
	{ kind: 'postgres', url: benchUrl, ownerUrl: benchUrl, poolSize: 4 },
	{ migrate: true }
);
const db = handle.db;
const raw = postgres(benchUrl, { max: 1, onnotice: () => {} });

try {
	// --- append throughput --------------------------------------------------------------------
	await raw.unsafe(`create table bench_plain (like audit_event including defaults)`);
	await raw.unsafe(`alter table bench_plain add column id bigserial primary key`);
	const event = (w: number, i: number) => ({
		action: 'document.view' as const,
		outcome: 'allowed' as const,
		actor: { id: w + 1, name: `Writer ${w}`, roles: ['staff'] },
		ip: '192.0.2.10',
		userAgent: 'bench',
		requestId: `r-${w}-${i}`,
		target: { type: 'document', id: i % 500 },
		details: { documentId: i % 500, title: `Document ${i % 500}` }
	});
	let seqPlain = 0;
	const plain = async (dbw: Database, w: number) => {
		await dbw.transaction(async (tx) => {
			const e = event(w, seqPlain++);
			await tx.execute(
				// The same row written without the chain: what the lock and hashing cost on top.
				sql`insert into bench_plain (seq, occurred_at, actor_id, actor_name, actor_roles, ip, user_agent, request_id, action, target_type, target_id, outcome, details, prev_hash, hash)
				values (0, clock_timestamp(), ${e.actor.id}, ${e.actor.name}, ${'{staff}'}, ${e.ip}, ${e.userAgent}, ${e.requestId}, ${e.action}, 'document', ${String(e.target.id)}, 'allowed', ${JSON.stringify(e.details)}::jsonb, '', '')`
			);
		});
		return 1;
	};
	let i = 0;
	const chained = (batch: number) => async (dbw: Database, w: number) => {
		await appendAuditEvents(
			dbw,
			Array.from({ length: batch }, () => event(w, i++))
		);
		return batch;
	};
	const baseline8 = await forDuration(8, plain);
	const one = await forDuration(1, chained(1));
	const eight = await forDuration(8, chained(1));
	const eightBatched = await forDuration(8, chained(10));
	const ownStep = (batch: number) => async (dbw: Database, w: number) => {
		await appendOwnTransaction(
			dbw,
			Array.from({ length: batch }, () => event(w, i++))
		);
		return batch;
	};
	const ownOne = await forDuration(1, ownStep(1));
	const ownEight = await forDuration(8, ownStep(1));
	// Request handlers in one instance recording reads (views, searches, denials) with record():
	// each awaits its event's commit before recording the next, as a handler would.
	setDatabase(handle);
	const handlers = async (count: number) => {
		const warm = performance.now() + WARMUP_SECONDS * 1000;
		await Promise.all(
			Array.from({ length: count }, async (_, w) => {
				while (performance.now() < warm) await record(event(w, i++));
			})
		);
		const until = performance.now() + SECONDS * 1000;
		const perHandler = await Promise.all(
			Array.from({ length: count }, async (_, w) => {
				let n = 0;
				while (performance.now() < until) {
					await record(event(w, i++));
					n++;
				}
				return n;
			})
		);
		return perHandler.reduce((a, b) => a + b, 0) / SECONDS;
	};
	const recordOne = await handlers(1);
	const coalesced = await handlers(8);
	console.log(
		`append, baseline: plain INSERT transactions, 8 writers   ${fmt(baseline8)} events/s`
	);
	console.log(
		`append, chained, 1 writer                               ${fmt(one)} events/s (${(one / baseline8).toFixed(2)}× baseline)`
	);
	console.log(
		`append, chained, 8 writers                              ${fmt(eight)} events/s (${(eight / baseline8).toFixed(2)}× baseline; target ≥ 3,000)`
	);
	console.log(
		`append, chained, 8 writers, 10 events per locked step   ${fmt(eightBatched)} events/s (${(eightBatched / baseline8).toFixed(2)}× baseline)`
	);
	console.log(
		`append, own-transaction step, 1 writer                  ${fmt(ownOne)} events/s (${(ownOne / baseline8).toFixed(2)}× baseline)`
	);
	console.log(
		`append, own-transaction step, 8 writers                 ${fmt(ownEight)} events/s (${(ownEight / baseline8).toFixed(2)}× baseline)`
	);
	console.log(
		`append, record() from 1 handler, 1 instance            ${fmt(recordOne)} events/s (${(recordOne / baseline8).toFixed(2)}× baseline)`
	);
	console.log(
		`append, record() from 8 concurrent handlers, 1 instance ${fmt(coalesced)} events/s (${(coalesced / baseline8).toFixed(2)}× baseline; target ≥ 3,000)`
	);

	// --- a valid chain of EVENTS rows, written with COPY ---------------------------------------
	const [counted] = await raw`select count(*)::int as n from audit_event`;
	const [headRow] = await raw`select hash,
		to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as at
		from audit_event order by seq desc limit 1`;
	const already = Number(counted!.n);
	let prev = String(headRow!.hash);
	let seq: number = already;
	// A microsecond apart after the appends above: forward in time, never ahead of the clock by
	// more than a second, so verification's time checks pass too.
	const start = parseTimeText(String(headRow!.at));
	const esc = (v: string) =>
		v
			.replaceAll('\\', '\\\\')
			.replaceAll('\t', '\\t')
			.replaceAll('\n', '\\n')
			.replaceAll('\r', '\\r');
	const actions = [
		'document.view',
		'document.search',
		'document.download',
		'auth.sign_in',
		'document.denied'
	];
	function* lines(count: number) {
		let chunk = '';
		for (let k = 0; k < count; k++) {
			seq += 1;
			const at = formatTimeText(start + (seq - already));
			const doc = seq % 20_000;
			const fields: ChainedFields = {
				seq,
				occurredAt: at,
				actorId: (seq % 400) + 1,
				actorName: `Person ${(seq % 400) + 1}`,
				actorRoles: ['staff'],
				ip: `10.0.${seq % 250}.${seq % 200}`,
				userAgent: 'Mozilla/5.0 bench',
				requestId: `req-${seq}`,
				action: actions[seq % actions.length]!,
				targetType: 'document',
				targetId: String(doc),
				outcome: seq % 37 === 0 ? 'denied' : 'allowed',
				details: { documentId: doc, title: `Document ${doc}` }
			};
			const hash = chainHash(prev, fields);
			chunk +=
				[
					seq,
					at,
					fields.actorId,
					fields.actorName,
					'{staff}',
					fields.ip,
					fields.userAgent,
					fields.requestId,
					fields.action,
					fields.targetType,
					fields.targetId,
					fields.outcome,
					JSON.stringify(fields.details),
					prev,
					hash
				]
					.map((v) => esc(String(v)))
					.join('\t') + '\n';
			prev = hash;
			if (chunk.length > 1 << 20) {
				yield chunk;
				chunk = '';
			}
		}
		if (chunk) yield chunk;
	}
	let t = performance.now();
	// A bulk load as only a superuser can do it: row triggers off (the insert trigger would check
	// and move the head a million times), the head moved to the end afterwards.
	await raw`set session_replication_role = replica`;
	const copy =
		await raw`copy audit_event (seq, occurred_at, actor_id, actor_name, actor_roles, ip, user_agent, request_id, action, target_type, target_id, outcome, details, prev_hash, hash) from stdin`.writable();
	await pipeline(Readable.from(lines(EVENTS - already)), copy);
	await raw`reset session_replication_role`;
	await raw`update audit_head set seq = ${seq}, hash = ${prev} where id = 1`;
	await raw`analyze audit_event`;
	console.log(
		`(setup: ${fmt(EVENTS)} chained events written in ${((performance.now() - t) / 1000).toFixed(1)} s)`
	);

	// --- verification ------------------------------------------------------------------------
	const storeDir = `/tmp/${name}-objects`;
	const store = createLocalObjectStore(storeDir);
	const key = loadSigningKey({ id: 'bench', key: randomBytes(32) });
	t = performance.now();
	let rows = 0;
	let last = 0;
	for (;;) {
		const batch = await raw`select * from audit_event where seq > ${last} order by seq limit 5000`;
		rows += batch.length;
		if (batch.length < 5000) break;
		last = Number(batch.at(-1)!.seq);
	}
	const readSeconds = (performance.now() - t) / 1000;
	const report = await verifyChain({ db, store, keys: [key] });
	const verifySeconds = report.durationMs / 1000;
	console.log(
		`verify, baseline: read ${fmt(rows)} rows in batches        ${readSeconds.toFixed(1)} s`
	);
	console.log(
		`verify ${fmt(report.events)} events (${report.ok ? 'intact' : 'FAILED'})             ${verifySeconds.toFixed(1)} s (${(verifySeconds / readSeconds).toFixed(2)}× baseline; target < 15 s, memory ${fmt(process.memoryUsage().rss / 1048576)} MB rss)`
	);

	// --- filtered pages ----------------------------------------------------------------------
	if (PAGE_EVENTS > EVENTS) {
		t = performance.now();
		// Bulk load: the secondary indexes (exactly as the migrations define them) are dropped and
		// built again afterwards, which is several times faster than maintaining them row by row.
		const indexes = await raw<{ name: string; definition: string }[]>`
			select indexname as name, indexdef as definition from pg_indexes
			where tablename = 'audit_event' and indexname <> 'audit_event_pkey'`;
		for (const { name: index } of indexes) await raw.unsafe(`drop index "${index}"`);
		// Filler rows for page timings only: not a chain (verification ran above), so inserted
		// with triggers off, as only a superuser can (the insert trigger refuses rows that do
		// not extend the chain; migration 0007). u1..u4 are
		// uniform in [0, 1) from a hash of the sequence number, so a rerun builds the same table;
		// squaring or cubing them skews people and documents toward a busy few.
		await raw.unsafe(`set session_replication_role = replica`);
		await raw.unsafe(`insert into audit_event (seq, occurred_at, actor_id, actor_name, actor_roles, ip, user_agent, request_id, action, target_type, target_id, outcome, details, prev_hash, hash)
			select s, timestamptz '2025-01-01' + s * interval '6 seconds', actor, 'Person ' || actor, '{staff}',
				case when u3 < 0.9 then '10.0.' || (actor % 250) || '.' || (actor % 200) else '192.0.2.' || (s % 250) end,
				'Mozilla/5.0 bench', 'req-' || s, action,
				case when action like 'auth.%' then null else 'document' end,
				case when action like 'auth.%' then null else doc::text end,
				case when action = 'document.denied' then 'denied' when u3 > 0.995 then 'failed' else 'allowed' end,
				case when action like 'auth.%' then '{}'::jsonb else jsonb_build_object('documentId', doc, 'title', 'Document ' || doc) end,
				'', ''
			from (
				select s, 1 + floor(400 * u1 * u1)::int as actor, 1 + floor(20000 * u2 * u2 * u2)::int as doc, u3,
					case when u4 < 0.55 then 'document.view' when u4 < 0.75 then 'document.search'
						when u4 < 0.85 then 'document.download' when u4 < 0.9 then 'document.preview'
						when u4 < 0.97 then 'auth.sign_in' else 'document.denied' end as action
				from (
					select s,
						(hashint8extended(s, 1) & 2147483647)::float8 / 2147483648 as u1,
						(hashint8extended(s, 2) & 2147483647)::float8 / 2147483648 as u2,
						(hashint8extended(s, 3) & 2147483647)::float8 / 2147483648 as u3,
						(hashint8extended(s, 4) & 2147483647)::float8 / 2147483648 as u4
					from generate_series(${EVENTS + 1}::bigint, ${PAGE_EVENTS}::bigint) as s
				) u
			) g`);
		await raw.unsafe(`reset session_replication_role`);
		await raw.unsafe(`set maintenance_work_mem = '256MB'`);
		for (const { definition } of indexes) await raw.unsafe(definition);
		await raw`analyze audit_event`;
		console.log(
			`(setup: filled to ${fmt(PAGE_EVENTS)} events in ${((performance.now() - t) / 1000).toFixed(1)} s: the ${fmt(PAGE_EVENTS - EVENTS)} after the chain are generated in SQL with realistic distributions, not chained)`
		);
	}
	const config = loadConfig({ DATABASE_URL: benchUrl, INTRANET_MODE: 'demo', LOG_LEVEL: 'silent' });
	setConfig(config);
	setDatabase(handle);
	const viewer: SessionUser = {
		id: 999_999,
		email: 'a@b',
		displayName: 'Bench',
		organisationId: 1,
		roles: ['auditor'],
		locale: null,
		timeZone: 'UTC'
	};
	const label = (id: number) => `#${id}`;
	const middle = Math.floor(PAGE_EVENTS / 2);
	const cases: [string, Parameters<typeof workspace.listEvents>[1], number | undefined][] = [
		['newest', {}, undefined],
		['deep cursor', {}, middle],
		['person', { person: 17 }, undefined],
		['person, deep', { person: 17 }, middle],
		['document', { document: 4242 }, undefined],
		['action + outcome', { action: 'document.denied', outcome: 'denied' }, undefined],
		['IP', { ip: '10.0.17.17' }, undefined],
		['document, deep', { document: 4242 }, middle],
		['person + action', { person: 17, action: 'auth.sign_in' }, undefined],
		['action + outcome, rare', { action: 'document.view', outcome: 'failed' }, undefined],
		['time range, an hour', { from: '2025-03-01T10:00', to: '2025-03-01T11:00' }, undefined],
		['time range, a week', { from: '2025-06-01', to: '2025-06-07' }, undefined],
		['person + week', { person: 300, from: '2025-06-01', to: '2025-06-07' }, undefined]
	];
	const timings: number[] = [];
	const perCase = new Map<string, number[]>();
	const lookups: number[] = [];
	for (let round = 0; round < 25; round++) {
		for (const [caseName, filter, before] of cases) {
			const s = performance.now();
			await workspace.listEvents(viewer, filter, before, label);
			const took = performance.now() - s;
			timings.push(took);
			perCase.set(caseName, [...(perCase.get(caseName) ?? []), took]);
		}
		const s = performance.now();
		await raw`select seq from audit_event where seq = ${middle}`;
		lookups.push(performance.now() - s);
	}
	const p95 = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length * 0.95)]!;
	const lookup = p95(lookups);
	console.log(`page, baseline: primary-key lookup p95                 ${lookup.toFixed(1)} ms`);
	for (const [caseName, values] of perCase) {
		console.log(
			`  page p95, ${caseName.padEnd(24)} ${p95(values).toFixed(1).padStart(6)} ms (${(p95(values) / lookup).toFixed(1)}× baseline)`
		);
	}
	const worst = Math.max(...[...perCase.values()].map(p95));
	console.log(
		`page of 50, ${cases.length} filters, at ${fmt(PAGE_EVENTS)} events, p95   ${p95(timings).toFixed(1)} ms over all, worst filter ${worst.toFixed(1)} ms (${(p95(timings) / lookup).toFixed(1)}× baseline; target < 50 ms)`
	);
} finally {
	await raw.end();
	await handle.close();
	if (process.env.BENCH_KEEP) console.log(`(kept database ${name})`);
	else await admin.unsafe(`drop database if exists ${name} with (force)`);
	await admin.end();
	rmSync(`/tmp/${name}-objects`, { recursive: true, force: true });
}
