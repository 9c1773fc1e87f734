import { randomBytes } from 'node:crypto';
import { text } from 'node:stream/consumers';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import { asc, desc, eq, sql, type SQL } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
	createTestDatabase,
	onServer,
	needsServerReason,
	serverUrl,
	type TestDatabase
} from '../../../../tests/helpers/database';
import { S3RVER_CREDENTIALS, startS3Server, type RunningS3 } from '../../../../tests/helpers/s3';
import { queryRows, type Database } from '../db';
import { auditEvent } from '../db/schema';
import { createObjectStore, type ObjectStore } from '../storage';
import { appendAuditEvents, appendOwnTransaction } from './append';
import {
	CHECKPOINT_FORMAT,
	checkpointDue,
	checkpointMessage,
	lastCheckpointRecorded,
	writeCheckpoint
} from './checkpoint';
import { GENESIS_HASH, chainHash, occurredAtText } from './chain';
import { loadPublicKey, loadSigningKey, signMessage } from './signing';
import { verifyChain } from './verify';

const keyA = loadSigningKey({ id: 'k2025', key: randomBytes(32) });
const keyB = loadSigningKey({ id: 'k2026', key: randomBytes(32) });

interface Setup {
	database: TestDatabase;
	db: Database;
	s3: RunningS3;
	store: ObjectStore;
}
let current: Setup | undefined;

async function setUp(): Promise<Setup> {
	const database = await createTestDatabase();
	const s3 = await startS3Server(`audit-${randomBytes(3).toString('hex')}`);
	const store = await createObjectStore({
		kind: 's3',
		bucket: s3.bucket,
		endpoint: s3.endpoint,
		region: 'us-east-1',
		forcePathStyle: true,
		connectTimeoutMs: 5000,
		requestTimeoutMs: 30_000,
		credentials: S3RVER_CREDENTIALS
	});
	current = { database, db: database.handle.db, s3, store };
	return current;
}

afterEach(async () => {
	if (!current) return;
	await current.database.drop();
	await current.s3.stop();
	current = undefined;
});

async function addEvents(db: Database, count: number, from = 0) {
	for (let i = 0; i < count; i++) {
		await appendAuditEvents(db, [
			{
				action: 'document.view',
				outcome: 'allowed',
				actor: { id: 3, name: 'Kato Ren', roles: ['staff'] },
				target: { type: 'document', id: from + i },
				details: { documentId: from + i, title: `Memo ${from + i}` }
			}
		]);
	}
}

/** Tampering as the superuser would: row triggers off for this transaction only. */
async function tamper(db: Database, statement: ReturnType<typeof sql>) {
	await db.transaction(async (tx) => {
		await tx.execute(sql`set local session_replication_role = replica`);
		await tx.execute(statement);
	});
}

/**
 * As someone with the superuser would rewrite the log: each row's details through `edit`, every
 * hash recomputed after it with the triggers off, and with `moveHead` the chain head moved to the
 * new last hash.
 */
async function rewriteChain(
	db: Database,
	edit: (row: { seq: number; details: Record<string, unknown> }) => Record<string, unknown>,
	options: { moveHead?: boolean } = {}
) {
	const rows = await db
		.select({ ...auditColumns(), occurredAt: sql<string>`${occurredAtText}` })
		.from(auditEvent)
		.orderBy(asc(auditEvent.seq));
	let prev = GENESIS_HASH;
	await db.transaction(async (tx) => {
		await tx.execute(sql`set local session_replication_role = replica`);
		for (const row of rows) {
			const details = edit(row);
			const hash = chainHash(prev, { ...row, details });
			await tx
				.update(auditEvent)
				.set({ details, prevHash: prev, hash })
				.where(eq(auditEvent.seq, row.seq));
			prev = hash;
		}
		if (options.moveHead) await tx.execute(sql`update audit_head set hash = ${prev} where id = 1`);
	});
}

const verify = (s: Setup, keys = [keyA]) =>
	verifyChain({ db: s.db, store: s.store, keys, batchSize: 7 });

/**
 * The store, with work done while verification lists the checkpoints: `before` runs once the
 * listing is asked for (verification has read the head by then), `after` once it is complete.
 */
function listing(
	store: ObjectStore,
	hooks: { before?: () => Promise<void>; after?: () => Promise<void> }
): ObjectStore {
	return {
		kind: store.kind,
		put: (prefix, body, options) => store.put(prefix, body, options),
		get: (key, range) => store.get(key, range),
		head: (key) => store.head(key),
		delete: (key) => store.delete(key),
		ping: () => store.ping(),
		async *list(prefix) {
			await hooks.before?.();
			yield* store.list(prefix);
			await hooks.after?.();
		}
	};
}

describe('append-only in the database itself', () => {
	it('refuses UPDATE, DELETE and TRUNCATE from a normal session', async () => {
		const { db } = await setUp();
		await addEvents(db, 3);
		await expect(
			db.execute(sql`update audit_event set outcome = 'denied' where seq = 2`)
		).rejects.toThrow();
		await expect(db.execute(sql`delete from audit_event where seq = 3`)).rejects.toThrow();
		await expect(db.execute(sql`truncate audit_event`)).rejects.toThrow();
		const rows = await db
			.select({ seq: auditEvent.seq, outcome: auditEvent.outcome })
			.from(auditEvent);
		expect(rows).toHaveLength(3);
		expect(rows.every((r) => r.outcome === 'allowed')).toBe(true);
	});
});

describe('verification', () => {
	it('passes on an intact log with checkpoints, batch after batch', async () => {
		const s = await setUp();
		await addEvents(s.db, 10);
		await writeCheckpoint(s.db, s.store, [keyA]);
		await addEvents(s.db, 10, 10);
		await s.db.transaction(async (tx) => {
			await appendAuditEvents(tx, [
				{
					action: 'document.edit',
					outcome: 'allowed',
					details: { before: { b: 2, a: [1.5, 'x'] } }
				},
				{ action: 'document.edit', outcome: 'failed', details: { text: '\u0000\r\n<script>' } }
			]);
		});
		await writeCheckpoint(s.db, s.store, [keyA]);
		const report = await verify(s);
		expect(report.problems).toEqual([]);
		expect(report.ok).toBe(true);
		expect(report.events).toBe(24);
		expect(report.checkpoints).toBe(2);
		expect(report.latestCheckpoint?.seq).toBe(23);
	});

	it('names an event whose details were edited', async () => {
		const s = await setUp();
		await addEvents(s.db, 12);
		await writeCheckpoint(s.db, s.store, [keyA]);
		await tamper(
			s.db,
			sql`update audit_event set details = jsonb_set(details, '{title}', '"Innocent"') where seq = 5`
		);
		const report = await verify(s);
		expect(report.ok).toBe(false);
		expect(report.firstFailure).toMatchObject({ kind: 'altered_event', seq: 5 });
		expect(report.problems.map((p) => p.kind)).toEqual(['altered_event']);
	});

	it('names an event whose time moved by one microsecond', async () => {
		const s = await setUp();
		await addEvents(s.db, 4);
		await tamper(
			s.db,
			sql`update audit_event set occurred_at = occurred_at + interval '1 microsecond' where seq = 2`
		);
		const report = await verify(s);
		expect(report.firstFailure).toMatchObject({ kind: 'altered_event', seq: 2 });
	});

	it('names an event whose hash was edited, and the broken link after it', async () => {
		const s = await setUp();
		await addEvents(s.db, 6);
		await tamper(s.db, sql`update audit_event set hash = repeat('a', 64) where seq = 3`);
		const report = await verify(s);
		expect(report.firstFailure).toMatchObject({ kind: 'altered_event', seq: 3 });
		expect(report.problems.map((p) => [p.kind, p.seq])).toEqual([
			['altered_event', 3],
			['broken_link', 4]
		]);
	});

	it('names a deleted middle event', async () => {
		const s = await setUp();
		await addEvents(s.db, 9);
		await tamper(s.db, sql`delete from audit_event where seq = 4`);
		const report = await verify(s);
		expect(report.firstFailure).toMatchObject({ kind: 'missing_events', seq: 4 });
		expect(report.problems).toHaveLength(1);
	});

	it('finds a deleted tail through the checkpoint', async () => {
		const s = await setUp();
		await addEvents(s.db, 20);
		await writeCheckpoint(s.db, s.store, [keyA]);
		await tamper(s.db, sql`delete from audit_event where seq >= 15`);
		const report = await verify(s);
		expect(report.headSeq).toBe(14);
		// The head still names event 21 (the checkpoint's record), the checkpoint event 20.
		expect(report.problems.map((p) => [p.kind, p.seq, p.toSeq])).toEqual([
			['tail_missing', 15, 21],
			['chain_behind_checkpoint', 20, undefined]
		]);
	});

	it('names a tail deleted after the last checkpoint, the checkpoint’s own record included', async () => {
		const s = await setUp();
		await addEvents(s.db, 20);
		await writeCheckpoint(s.db, s.store, [keyA]);
		await addEvents(s.db, 4, 20);
		expect((await verify(s)).ok).toBe(true);
		// The checkpoint signed event 20, recorded as event 21; 22 to 25 came after.
		await tamper(s.db, sql`delete from audit_event where seq >= 21`);
		const report = await verify(s);
		expect(report.ok).toBe(false);
		expect(report.headSeq).toBe(20);
		expect(report.problems).toEqual([
			expect.objectContaining({ kind: 'tail_missing', seq: 21, toSeq: 25 })
		]);
		expect(report.firstFailure?.message).toContain('events 21 to 25 are missing');
	});

	it('names a tail rewritten with recomputed hashes after the last checkpoint', async () => {
		const s = await setUp();
		await addEvents(s.db, 8);
		await writeCheckpoint(s.db, s.store, [keyA]);
		await addEvents(s.db, 3, 8);
		// Events 11 and 12 (after the checkpoint's record, 9) rewritten as the code would write them
		// (the rows before 11 come out as they were).
		await rewriteChain(s.db, (row) =>
			row.seq === 11 ? { ...row.details, title: 'Nothing to see' } : row.details
		);
		const report = await verify(s);
		expect(report.problems.map((p) => [p.kind, p.seq])).toEqual([['head_mismatch', 12]]);
	});

	it('catches a tail deleted with the head moved back only through a later checkpoint', async () => {
		const s = await setUp();
		await addEvents(s.db, 20);
		await writeCheckpoint(s.db, s.store, [keyA]);
		await tamper(s.db, sql`delete from audit_event where seq >= 15`);
		await tamper(
			s.db,
			sql`update audit_head set seq = 14, hash = (select hash from audit_event where seq = 14)`
		);
		const report = await verify(s);
		expect(report.problems.map((p) => [p.kind, p.seq])).toEqual([['chain_behind_checkpoint', 20]]);
	});

	it('names a deleted chain head and still verifies every event', async () => {
		const s = await setUp();
		await addEvents(s.db, 9);
		await tamper(s.db, sql`delete from audit_head`);
		const report = await verify(s);
		expect(report.events).toBe(9);
		expect(report.problems).toEqual([
			expect.objectContaining({ kind: 'head_mismatch', seq: null })
		]);
	});

	it('leaves a checkpoint written while it reads the log to the next run', async () => {
		const s = await setUp();
		await addEvents(s.db, 10);
		await writeCheckpoint(s.db, s.store, [keyA]);
		// A periodic checkpoint lands once the objects are listed: its object is not in the
		// listing, its record (event 15) is in the table while the rows are read.
		const racing = listing(s.store, {
			after: async () => {
				await addEvents(s.db, 3, 10);
				await writeCheckpoint(s.db, s.store, [keyA]);
			}
		});
		const report = await verifyChain({ db: s.db, store: racing, keys: [keyA], batchSize: 7 });
		expect(report.problems).toEqual([]);
		expect(report.ok).toBe(true);
		expect(report.headSeq).toBe(11);
		const next = await verify(s);
		expect(next.problems).toEqual([]);
		expect(next.headSeq).toBe(15);
		expect(next.checkpoints).toBe(2);
	});

	it('checks a checkpoint signed after it read the head against the event it names', async () => {
		const s = await setUp();
		await addEvents(s.db, 10);
		await writeCheckpoint(s.db, s.store, [keyA]);
		// Signed (event 14) and stored after the head (11) was read, before the listing.
		const racing = listing(s.store, {
			before: async () => {
				await addEvents(s.db, 3, 10);
				await writeCheckpoint(s.db, s.store, [keyA]);
			}
		});
		const report = await verifyChain({ db: s.db, store: racing, keys: [keyA], batchSize: 7 });
		expect(report.problems).toEqual([]);
		expect(report.headSeq).toBe(11);
		expect(report.checkpoints).toBe(2);
	});

	it('names a document id rewritten in another written form of the same number', async () => {
		const s = await setUp();
		await appendAuditEvents(s.db, [
			{ action: 'document.view', outcome: 'allowed', details: { documentId: 5 } },
			{ action: 'document.view', outcome: 'allowed', details: { documentId: 6 } }
		]);
		await writeCheckpoint(s.db, s.store, [keyA]);
		// Still 5 to the hash (the values are parsed), but no longer '5' to the history's filter.
		await tamper(
			s.db,
			sql`update audit_event set details = '{"documentId": 5.0}'::jsonb where seq = 1`
		);
		const report = await verify(s);
		expect(report.problems.map((p) => [p.kind, p.seq])).toEqual([['altered_event', 1]]);
		expect(report.problems[0]!.message).toContain('5.0');
	});

	it('names a checkpoint record whose details were replaced by null or no object', async () => {
		const s = await setUp();
		const recorded: number[] = [];
		for (const value of ['null', '"checkpoints/x"', '[1]', '42']) {
			await addEvents(s.db, 2, recorded.length * 2);
			await writeCheckpoint(s.db, s.store, [keyA]);
			const [row] = await s.db
				.select({ seq: auditEvent.seq })
				.from(auditEvent)
				.orderBy(desc(auditEvent.seq))
				.limit(1);
			recorded.push(row!.seq);
			await tamper(
				s.db,
				sql`update audit_event set details = ${value}::jsonb where seq = ${row!.seq}`
			);
		}
		const report = await verify(s);
		expect(report.problems.map((p) => [p.kind, p.seq])).toEqual(
			recorded.map((seq) => ['altered_event', seq])
		);
		// The periodic checkpoints still know where the last one stands.
		expect(await lastCheckpointRecorded(s.db)).toMatchObject({ seq: null, eventSeq: recorded[3] });
		expect(await checkpointDue(s.db, 5, 15)).toBe(false);
		await addEvents(s.db, 5, 100);
		expect(await checkpointDue(s.db, 5, 15)).toBe(true);
	});

	it('finds a consistently rewritten table through the checkpoint', async () => {
		const s = await setUp();
		await addEvents(s.db, 8);
		await writeCheckpoint(s.db, s.store, [keyA]);
		// The attacker changes event 2 and recomputes every later hash, as the code would.
		await rewriteChain(s.db, (row) =>
			row.seq === 2 ? { ...row.details, title: 'Nothing to see' } : row.details
		);
		const report = await verify(s);
		// The checkpoint's record (event 9) no longer has the hash the head recorded either.
		expect(report.problems.map((p) => [p.kind, p.seq])).toEqual([
			['checkpoint_mismatch', 8],
			['head_mismatch', 9]
		]);
		expect(report.firstFailure?.seq).toBe(8);
	});

	it('finds a deleted checkpoint object through the event that recorded it', async () => {
		const s = await setUp();
		await addEvents(s.db, 5);
		const written = await writeCheckpoint(s.db, s.store, [keyA]);
		await addEvents(s.db, 2, 5);
		await s.store.delete(written!.objectKey);
		const report = await verify(s);
		expect(report.firstFailure).toMatchObject({
			kind: 'checkpoint_missing',
			seq: 6,
			objectKey: written!.objectKey
		});
	});

	/**
	 * The attack of someone with the database's superuser and the store's keys: the object of the
	 * later checkpoint (events 1-9) is overwritten with the earlier one (events 1-5), event 8 is
	 * changed and every later hash recomputed, and the chain head moved to the new last hash.
	 * `rewriteRecord` also makes the later checkpoint's record name the earlier checkpoint.
	 */
	async function copyCheckpointAndRewrite(rewriteRecord: boolean, stripPadding = false) {
		const s = await setUp();
		await addEvents(s.db, 5);
		const first = await writeCheckpoint(s.db, s.store, [keyA]);
		await addEvents(s.db, 3, 5);
		const second = await writeCheckpoint(s.db, s.store, [keyA]);
		await addEvents(s.db, 2, 8);
		let earlier = await text((await s.store.get(first!.objectKey)).body);
		// The same signature written without its base64 padding still verifies.
		if (stripPadding) {
			const parsed = JSON.parse(earlier) as { signature: string };
			expect(parsed.signature).toMatch(/=$/);
			earlier = JSON.stringify({ ...parsed, signature: parsed.signature.replace(/=+$/, '') });
		}
		const client = new S3Client({
			endpoint: s.s3.endpoint,
			region: 'us-east-1',
			forcePathStyle: true,
			credentials: S3RVER_CREDENTIALS
		});
		await client.send(
			new PutObjectCommand({ Bucket: s.s3.bucket, Key: second!.objectKey, Body: earlier })
		);
		client.destroy();
		await rewriteChain(
			s.db,
			(row) => {
				if (row.seq === 8) return { ...row.details, title: 'Nothing to see' };
				if (row.seq === 10 && rewriteRecord) {
					return {
						...row.details,
						checkpointSeq: first!.checkpoint.seq,
						checkpointHash: first!.checkpoint.hash
					};
				}
				return row.details;
			},
			{ moveHead: true }
		);
		return { report: await verify(s), first: first!, second: second! };
	}

	it('names a checkpoint object replaced by an earlier checkpoint to hide a rewrite', async () => {
		const { report, first, second } = await copyCheckpointAndRewrite(false);
		expect(report.ok).toBe(false);
		expect(report.problems.map((p) => [p.kind, p.seq])).toEqual([
			['checkpoint_copied', 5],
			['checkpoint_replaced', 10]
		]);
		// The two objects list in any order: either may be named as the other's copy.
		expect([first.objectKey, second.objectKey]).toContain(report.problems[0]!.objectKey);
		expect(report.problems[1]!.objectKey).toBe(second.objectKey);
	});

	it('names the copy when the record of the replaced checkpoint was rewritten to match', async () => {
		const { report, first, second } = await copyCheckpointAndRewrite(true);
		expect(report.ok).toBe(false);
		expect(report.problems.map((p) => [p.kind, p.seq])).toEqual([['checkpoint_copied', 5]]);
		expect([first.objectKey, second.objectKey]).toContain(report.problems[0]!.objectKey);
	});

	it('names the copy when its signature is written without base64 padding', async () => {
		const { report } = await copyCheckpointAndRewrite(true, true);
		expect(report.problems.map((p) => [p.kind, p.seq])).toEqual([['checkpoint_copied', 5]]);
	});

	it('names events inserted outside the chain, at sequence numbers 0 and below', async () => {
		const s = await setUp();
		await addEvents(s.db, 6);
		await writeCheckpoint(s.db, s.store, [keyA]);
		const forge = (seq: number) =>
			sql`insert into audit_event (seq, occurred_at, actor_id, actor_name, actor_roles, ip,
				user_agent, request_id, action, target_type, target_id, outcome, details, prev_hash, hash)
			select ${seq}, occurred_at, actor_id, 'Innocent Person', actor_roles, ip, user_agent,
				request_id, action, target_type, target_id, outcome, details, prev_hash, hash
			from audit_event where seq = 3`;
		// A forged read in someone's name, before the chain: the insert trigger refuses it to
		// anyone who leaves triggers on (the app's own role), so only a superuser can add it.
		await expect(s.db.execute(forge(0))).rejects.toMatchObject({
			cause: { message: expect.stringMatching(/does not follow the chain head/) }
		});
		for (const seq of [0, -1]) await tamper(s.db, forge(seq));
		const report = await verify(s);
		expect(report.problems.map((p) => [p.kind, p.seq])).toEqual([
			['stray_events', -1],
			['stray_events', 0]
		]);
	});

	it('names a second event at a sequence number read at a batch boundary, and the dropped key', async () => {
		const s = await setUp();
		await addEvents(s.db, 12);
		await writeCheckpoint(s.db, s.store, [keyA]);
		// As the table's owner: the unique key dropped, a forged copy of event 7 (the last of the
		// first batch of 7) added beside it.
		await s.db.execute(sql`alter table audit_event drop constraint audit_event_pkey`);
		await tamper(
			s.db,
			sql`insert into audit_event (seq, occurred_at, actor_id, actor_name, actor_roles, ip,
				user_agent, request_id, action, target_type, target_id, outcome, details, prev_hash, hash)
			select seq, occurred_at, actor_id, 'Innocent Person', actor_roles, ip, user_agent,
				request_id, action, target_type, target_id, outcome, details, prev_hash, hash
			from audit_event where seq = 7`
		);
		const report = await verify(s);
		expect(report.ok).toBe(false);
		const strays = report.problems.filter((p) => p.kind === 'stray_events');
		expect(strays.map((p) => p.seq)).toEqual([7, null]);
		expect(strays[0]!.message).toContain('2 events share sequence number 7');
	});

	it('names an event moved to the same date BC, whose hash did not change', async () => {
		const s = await setUp();
		await addEvents(s.db, 6);
		await writeCheckpoint(s.db, s.store, [keyA]);
		await tamper(
			s.db,
			sql`update audit_event set occurred_at = (to_char(occurred_at at time zone 'UTC',
				'YYYY-MM-DD HH24:MI:SS.US') || '+00 BC')::timestamptz where seq = 1`
		);
		const report = await verify(s);
		expect(report.problems.map((p) => [p.kind, p.seq])).toEqual([['time_out_of_range', 1]]);
	});

	it('names an event dated far ahead and the one after it going back, hashes recomputed', async () => {
		const s = await setUp();
		await addEvents(s.db, 6);
		await tamper(
			s.db,
			sql`update audit_event set occurred_at = '2199-12-31T00:00:00Z' where seq = 3`
		);
		await rewriteChain(s.db, (row) => row.details, { moveHead: true });
		const report = await verify(s);
		expect(report.problems.map((p) => [p.kind, p.seq])).toEqual([
			['time_out_of_range', 3],
			['time_reversed', 4]
		]);
	});

	it('names an event whose details cannot be hashed, and verifies on past it', async () => {
		const s = await setUp();
		await addEvents(s.db, 6);
		await tamper(s.db, sql`update audit_event set details = '{"x": 1e400}'::jsonb where seq = 2`);
		await tamper(s.db, sql`delete from audit_event where seq = 5`);
		const report = await verify(s);
		expect(report.problems.map((p) => [p.kind, p.seq])).toEqual([
			['altered_event', 2],
			['missing_events', 5]
		]);
		expect(report.problems[0]!.message).toContain('cannot be hashed');
	});

	it('rejects a forged checkpoint and one signed by an unknown key', async () => {
		const s = await setUp();
		await addEvents(s.db, 5);
		const [head] = await s.db.select().from(auditEvent).where(eq(auditEvent.seq, 5));
		const unsigned = {
			format: CHECKPOINT_FORMAT,
			seq: 5,
			hash: head!.hash,
			time: '2026-01-01T00:00:00.000000Z',
			keyId: 'k2025'
		} as const;
		const forged = {
			...unsigned,
			seq: 99,
			signature: signMessage(keyA, checkpointMessage(unsigned))
		};
		const stranger = loadSigningKey({ id: 'k2025', key: randomBytes(32) });
		const foreign = { ...unsigned, signature: signMessage(stranger, checkpointMessage(unsigned)) };
		const unknown = { ...unsigned, keyId: 'mallory', signature: 'AAAA' };
		for (const c of [forged, foreign, unknown]) {
			await s.store.put('checkpoints', Readable.from([Buffer.from(JSON.stringify(c))]));
		}
		const report = await verify(s);
		expect(report.problems.map((p) => [p.kind, p.seq]).sort()).toEqual([
			['checkpoint_forged', 5],
			['checkpoint_forged', 99],
			['checkpoint_unknown_key', 5]
		]);
		expect(report.checkpoints).toBe(0);
	});

	it('with public keys pinned, names checkpoints signed by a key swapped in under the same id', async () => {
		const s = await setUp();
		await addEvents(s.db, 4);
		await writeCheckpoint(s.db, s.store, [keyA]);
		await addEvents(s.db, 2, 4);
		// Someone with the server's secrets replaces the signing key, keeping its id.
		const swapped = loadSigningKey({ id: keyA.id, key: randomBytes(32) });
		await writeCheckpoint(s.db, s.store, [swapped]);
		// Verified with the configured (swapped) key, only the original's checkpoint fails: deleted
		// as well, nothing would be left to see.
		expect((await verify(s, [swapped])).problems.map((p) => [p.kind, p.seq])).toEqual([
			['checkpoint_forged', 4]
		]);
		// With only the pinned public key (no seed at all), the swapped key's checkpoint is named.
		const pinned = loadPublicKey({ id: keyA.id, key: Buffer.from(keyA.publicKeyBase64, 'base64') });
		expect(pinned.fingerprint).toBe(keyA.fingerprint);
		const report = await verifyChain({ db: s.db, store: s.store, keys: [pinned], batchSize: 7 });
		expect(report.problems.map((p) => [p.kind, p.seq])).toEqual([['checkpoint_forged', 7]]);
		expect(report.checkpoints).toBe(1);
	});

	it('keeps verifying old checkpoints after a key rotation', async () => {
		const s = await setUp();
		await addEvents(s.db, 3);
		await writeCheckpoint(s.db, s.store, [keyA]);
		await addEvents(s.db, 3, 3);
		await writeCheckpoint(s.db, s.store, [keyB, keyA]);
		const rotated = await verify(s, [keyB, keyA]);
		expect(rotated.ok).toBe(true);
		expect(rotated.checkpoints).toBe(2);
		const forgotten = await verify(s, [keyB]);
		expect(forgotten.problems.map((p) => p.kind)).toEqual(['checkpoint_unknown_key']);
	});

	it('says a checkpoint is due after N events or M minutes, not for checkpoint records alone', async () => {
		const s = await setUp();
		expect(await checkpointDue(s.db, 5, 15)).toBe(false);
		await addEvents(s.db, 2);
		expect(await checkpointDue(s.db, 5, 15)).toBe(true);
		await writeCheckpoint(s.db, s.store, [keyA]);
		expect(await checkpointDue(s.db, 5, 15)).toBe(false);
		await addEvents(s.db, 2);
		expect(await checkpointDue(s.db, 5, 15)).toBe(false);
		expect(await checkpointDue(s.db, 5, 15, new Date(Date.now() + 16 * 60_000))).toBe(true);
		await addEvents(s.db, 3);
		expect(await checkpointDue(s.db, 5, 15)).toBe(true);
	});
});

function auditColumns() {
	const { seq, actorId, actorName, actorRoles, ip, userAgent, requestId, action } = auditEvent;
	const { targetType, targetId, outcome, details } = auditEvent;
	return {
		seq,
		actorId,
		actorName,
		actorRoles,
		ip,
		userAgent,
		requestId,
		action,
		targetType,
		targetId,
		outcome,
		details
	};
}

describe.skipIf(!onServer)(`on the PostgreSQL server (${needsServerReason})`, () => {
	let database: TestDatabase;
	beforeAll(async () => {
		// Roles are cluster-wide: created once, before the migration that restricts them.
		const admin = postgres(serverUrl!, { max: 1, onnotice: () => {} });
		try {
			await admin.unsafe(`do $$ begin
				if not exists (select 1 from pg_roles where rolname = 'jiss_app') then
					create role jiss_app nologin;
				end if;
			end $$`);
		} finally {
			await admin.end();
		}
		database = await createTestDatabase();
	});
	afterAll(async () => {
		await database?.drop();
	});

	it('gives the application role INSERT and SELECT only', async () => {
		const db = database.handle.db;
		await db.transaction(async (tx) => {
			await tx.execute(sql`set local role jiss_app`);
			await appendAuditEvents(tx, [{ action: 'audit.viewed', outcome: 'allowed' }]);
		});
		for (const statement of [
			sql`update audit_event set outcome = 'denied'`,
			sql`delete from audit_event`,
			sql`truncate audit_event`
		]) {
			const failure = await db
				.transaction(async (tx) => {
					// Triggers off as well: the privilege alone must refuse.
					await tx.execute(sql`set local session_replication_role = replica`);
					await tx.execute(sql`set local role jiss_app`);
					await tx.execute(statement);
				})
				.then(
					() => null,
					(error: Error) => error
				);
			expect(String((failure?.cause as Error | undefined)?.message)).toMatch(
				/permission denied for table audit_event/
			);
		}
		const privileges = await queryRows<{ privilege_type: string }>(
			db,
			sql`select privilege_type from information_schema.role_table_grants
				where grantee = 'jiss_app' and table_name = 'audit_event' order by 1`
		);
		expect(privileges.map((p) => p.privilege_type)).toEqual(['INSERT', 'SELECT']);
		const head = await queryRows<{ privilege_type: string }>(
			db,
			sql`select privilege_type from information_schema.role_table_grants
				where grantee = 'jiss_app' and table_name = 'audit_head' order by 1`
		);
		expect(head.map((p) => p.privilege_type)).toEqual(['SELECT']);
	});

	it('lets the application role add only events that extend the chain, and never move its head', async () => {
		const db = database.handle.db;
		await appendAuditEvents(db, [{ action: 'audit.viewed', outcome: 'allowed' }]);
		const asApp = (statement: ReturnType<typeof sql>) =>
			db
				.transaction(async (tx) => {
					await tx.execute(sql`set local role jiss_app`);
					await tx.execute(statement);
				})
				.then(
					() => null,
					(error: Error) => (error.cause as Error | undefined)?.message ?? error.message
				);
		// A copy of the newest event at the given sequence number, previous hash and time.
		const copy = (seq: SQL, prevHash: SQL, occurredAt: SQL) =>
			sql`insert into audit_event (seq, occurred_at, actor_id, actor_name, actor_roles, ip,
				user_agent, request_id, action, target_type, target_id, outcome, details, prev_hash, hash)
			select ${seq}, ${occurredAt}, e.actor_id, 'Innocent Person', e.actor_roles, e.ip,
				e.user_agent, e.request_id, e.action, e.target_type, e.target_id, e.outcome, e.details,
				${prevHash}, md5(random()::text)
			from audit_event e, audit_head h where e.seq = h.seq`;
		const next = sql`h.seq + 1`;
		const headHash = sql`h.hash`;
		const [before] = await queryRows<{ seq: string; hash: string }>(
			db,
			sql`select seq::text, hash from audit_head`
		);
		const refusals: [ReturnType<typeof sql>, RegExp][] = [
			[sql`update audit_head set seq = seq + 5`, /permission denied for table audit_head/],
			[sql`update audit_head set hash = repeat('0', 64)`, /permission denied for table audit_head/],
			[sql`select * from audit_head for update`, /permission denied for table audit_head/],
			// Before the chain, beside an event, past the head, or not on the head's hash.
			[copy(sql`0`, headHash, sql`e.occurred_at`), /does not follow the chain head/],
			[copy(sql`h.seq`, headHash, sql`e.occurred_at`), /does not follow the chain head/],
			[copy(sql`h.seq + 2`, headHash, sql`e.occurred_at`), /does not follow the chain head/],
			[copy(next, sql`repeat('0', 64)`, sql`e.occurred_at`), /does not follow the chain head/],
			// Dated before the event it follows, or far ahead of the clock.
			[
				copy(next, headHash, sql`e.occurred_at - interval '1 second'`),
				/out of order or in the future/
			],
			[copy(next, headHash, sql`now() + interval '2 hours'`), /out of order or in the future/]
		];
		for (const [statement, message] of refusals) {
			expect(await asApp(statement)).toMatch(message);
		}
		const [after] = await queryRows<{ seq: string; hash: string }>(
			db,
			sql`select seq::text, hash from audit_head`
		);
		expect(after).toEqual(before);
		// The lock is the role's one way to hold the head; appends go on as before.
		expect(await asApp(sql`select * from audit_head_lock()`)).toBeNull();
		await db.transaction(async (tx) => {
			await tx.execute(sql`set local role jiss_app`);
			await appendAuditEvents(tx, [{ action: 'audit.viewed', outcome: 'allowed' }]);
		});
		const [moved] = await queryRows<{ seq: string }>(db, sql`select seq::text from audit_head`);
		expect(Number(moved!.seq)).toBe(Number(before!.seq) + 1);
	});

	it('cannot be fooled by temporary tables, a skipped insert or a head dated ahead of the clock', async () => {
		// A database of its own: the rows written here as a superuser are not a chain.
		const own = await createTestDatabase();
		const db = own.handle.db;
		try {
			await appendAuditEvents(db, [{ action: 'audit.viewed', outcome: 'allowed' }]);
			const failureOf = (statements: ReturnType<typeof sql>[]) =>
				db
					.transaction(async (tx) => {
						await tx.execute(sql`set local role jiss_app`);
						for (const statement of statements) await tx.execute(statement);
					})
					.then(
						() => null,
						(error: Error) => (error.cause as Error | undefined)?.message ?? error.message
					);
			const forged = (seq: SQL, prevHash: SQL, suffix = sql``) =>
				sql`insert into public.audit_event (seq, occurred_at, actor_name, actor_roles, action,
					outcome, details, prev_hash, hash)
				values (${seq}, clock_timestamp(), 'Innocent Person', '{}', 'document.view', 'allowed',
					'{}'::jsonb, ${prevHash}, md5(random()::text)) ${suffix}`;
			// The app's role shadows the head and the log with temporary tables of its own.
			expect(
				await failureOf([
					sql`create temp table audit_head (id smallint, seq bigint, hash text) on commit drop`,
					sql`create temp table audit_event (seq bigint, occurred_at timestamptz) on commit drop`,
					sql`insert into pg_temp.audit_head values (1, -1, 'fake')`,
					forged(sql`0`, sql`'fake'`)
				])
			).toMatch(/does not follow the chain head/);
			// A row already at the next number (a superuser's, triggers off): an insert there that
			// would be skipped must not move the head over it.
			const [head] = await queryRows<{ seq: string; hash: string }>(
				db,
				sql`select seq::text, hash from audit_head`
			);
			await tamper(db, forged(sql`${Number(head!.seq) + 1}`, sql`${head!.hash}`));
			expect(
				await failureOf([
					forged(sql`${Number(head!.seq) + 1}`, sql`${head!.hash}`, sql`on conflict do nothing`)
				])
			).toMatch(/does not follow the chain head/);
			const [after] = await queryRows<{ seq: string; hash: string }>(
				db,
				sql`select seq::text, hash from audit_head`
			);
			expect(after).toEqual(head);
			await tamper(db, sql`delete from audit_event where seq > ${Number(head!.seq)}`);
			// The head dated two hours ahead of the clock (a clock set back, or a superuser): later
			// appends take the head's time instead of failing.
			await tamper(
				db,
				sql`update audit_event set occurred_at = clock_timestamp() + interval '2 hours'
					where seq = ${Number(head!.seq)}`
			);
			await appendAuditEvents(db, [{ action: 'audit.viewed', outcome: 'allowed' }]);
			await appendOwnTransaction(db, [{ action: 'audit.viewed', outcome: 'allowed' }]);
			const [last] = await queryRows<{ seq: string; ahead: boolean }>(
				db,
				sql`select seq::text, occurred_at > clock_timestamp() + interval '1 hour' as ahead
					from audit_event order by seq desc limit 1`
			);
			expect(Number(last!.seq)).toBe(Number(head!.seq) + 2);
			expect(last!.ahead).toBe(true);
		} finally {
			await own.drop();
		}
	});

	it('dates an append that waited for the lock after the event committed while it waited', async () => {
		// One instance holds the head with an event stamped a little ahead of the database clock
		// (as a carried-forward time may be); another waits for the lock meanwhile. The waiting
		// one must see that event once it has the lock, not the head as it was when it asked.
		// A database of its own: the held event's hash is made up, which verification would name.
		const own = await createTestDatabase();
		const holder = postgres(own.url!, { max: 1, onnotice: () => {} });
		const waiter = postgres(own.url!, { max: 1, onnotice: () => {} });
		const { drizzle } = await import('drizzle-orm/postgres-js');
		try {
			let waiting: Promise<unknown> | undefined;
			await holder.begin(async (tx) => {
				await tx`select * from audit_head_lock()`;
				await tx`insert into audit_event (seq, occurred_at, actor_roles, action, outcome, details, prev_hash, hash)
					select h.seq + 1, clock_timestamp() + interval '2 seconds', '{}', 'audit.viewed', 'allowed',
						'{}'::jsonb, h.hash, md5(random()::text)
					from audit_head h`;
				waiting = appendAuditEvents(drizzle(waiter) as unknown as Database, [
					{ action: 'audit.viewed', outcome: 'allowed', details: { waited: true } }
				]);
				await new Promise((resolve) => setTimeout(resolve, 300));
			});
			await waiting;
			const [held, waited] = await queryRows<{ seq: string; at: string }>(
				own.handle.db,
				sql`select seq::text, occurred_at::text as at from audit_event order by seq desc limit 2`
			).then((rows) => rows.reverse());
			expect(Number(waited!.seq)).toBe(Number(held!.seq) + 1);
			expect(new Date(waited!.at) >= new Date(held!.at)).toBe(true);
		} finally {
			await Promise.all([holder.end(), waiter.end()]);
			await own.drop();
		}
	});

	it('forms one gap-free chain from 8 connections appending concurrently, locked and not', async () => {
		const clients = Array.from({ length: 8 }, () =>
			postgres(database.url!, { max: 1, onnotice: () => {} })
		);
		const { drizzle } = await import('drizzle-orm/postgres-js');
		const dbs = clients.map((c) => drizzle(c) as unknown as Database);
		const before = (await database.handle.db.select({ seq: auditEvent.seq }).from(auditEvent))
			.length;
		try {
			await Promise.all(
				dbs.map(async (db, writer) => {
					for (let i = 0; i < 250; i++) {
						const batch = i % 10 === 0 ? 3 : 1;
						const events = Array.from({ length: batch }, (_, j) => ({
							action: 'document.search' as const,
							outcome: 'allowed' as const,
							actor: { id: writer, name: `writer ${writer}`, roles: ['staff'] },
							details: { i, j }
						}));
						// Each connection stands for an instance: half its appends take the lock
						// first, half are own-transaction steps on the head that instance last wrote.
						if (i % 2 === 0) await appendAuditEvents(db, events);
						else await appendOwnTransaction(db, events);
					}
				})
			);
		} finally {
			await Promise.all(clients.map((c) => c.end()));
		}
		const rows = await database.handle.db
			.select({ seq: auditEvent.seq })
			.from(auditEvent)
			.orderBy(asc(auditEvent.seq));
		const expected = before + 8 * (225 + 25 * 3);
		expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: expected }, (_, i) => i + 1));
		const s3 = await startS3Server('audit-concurrent');
		try {
			const store = await createObjectStore({
				kind: 's3',
				bucket: s3.bucket,
				endpoint: s3.endpoint,
				region: 'us-east-1',
				forcePathStyle: true,
				connectTimeoutMs: 5000,
				requestTimeoutMs: 30_000,
				credentials: S3RVER_CREDENTIALS
			});
			const report = await verifyChain({ db: database.handle.db, store, keys: [keyA] });
			expect(report.problems).toEqual([]);
			expect(report.events).toBe(expected);
		} finally {
			await s3.stop();
		}
	});
});
