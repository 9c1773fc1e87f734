import { asc, getTableColumns, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../../tests/helpers/database';
import { auditEvent } from '../db/schema';
import { queryRows, setDatabase } from '../db';
import { appendAuditEvents, appendOwnTransaction, formatTimeText, parseTimeText } from './append';
import { record } from './index';
import { GENESIS_HASH, chainHash, occurredAtText, timeText } from './chain';

let database: TestDatabase;
beforeAll(async () => {
	database = await createTestDatabase();
});
afterAll(async () => {
	await database?.drop();
});

describe('appendAuditEvents', () => {
	it('links events into a gap-free chain that recomputes from the stored rows', async () => {
		const db = database.handle.db;
		await appendAuditEvents(db, [
			{ action: 'auth.sign_in', outcome: 'denied', details: { reason: 'unknown email' } }
		]);
		await db.transaction(async (tx) => {
			await appendAuditEvents(tx, [
				{
					action: 'document.view',
					outcome: 'allowed',
					actor: { id: 7, name: 'Suzuki\u0000Mei\n<b>', roles: ['staff'] },
					target: { type: 'document', id: 42 },
					details: { title: '宇宙\r\n=HYPERLINK("x")', nested: { b: 1, a: [true, null] } }
				},
				{ action: 'document.download', outcome: 'allowed', target: { type: 'document', id: 42 } }
			]);
		});
		const rows = await db
			.select({ ...getTableColumns(auditEvent), occurredAt: sql<string>`${occurredAtText}` })
			.from(auditEvent)
			.orderBy(asc(auditEvent.seq));
		expect(rows.map((r) => r.seq)).toEqual([1, 2, 3]);
		// Database clock, microseconds, one time for a batch appended in one locked step.
		expect(rows[1]!.occurredAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
		expect(rows[2]!.occurredAt).toBe(rows[1]!.occurredAt);
		let prev = GENESIS_HASH;
		for (const row of rows) {
			expect(row.prevHash).toBe(prev);
			expect(chainHash(prev, row)).toBe(row.hash);
			prev = row.hash;
		}
		expect(rows[1]!.actorName).toBe('Suzuki\u2400Mei\n<b>');
	});

	it('leaves no event behind when the surrounding transaction rolls back', async () => {
		const db = database.handle.db;
		const before = await db.select().from(auditEvent);
		await expect(
			db.transaction(async (tx) => {
				await appendAuditEvents(tx, [{ action: 'document.edit', outcome: 'allowed' }]);
				throw new Error('the action failed');
			})
		).rejects.toThrow('the action failed');
		const after = await db.select().from(auditEvent);
		expect(after.length).toBe(before.length);
		await appendAuditEvents(db, [{ action: 'document.edit', outcome: 'allowed' }]);
		const last = await db.select().from(auditEvent).orderBy(asc(auditEvent.seq));
		expect(last.at(-1)!.seq).toBe(before.length + 1);
	});
});

describe('values cut to their limit', () => {
	it('never leave half a surrogate pair: the stored rows still match their hashes', async () => {
		const db = database.handle.db;
		const [{ max } = { max: 0 }] = await queryRows<{ max: number | null }>(
			db,
			sql`select coalesce(max(seq), 0)::int as max from audit_event`
		);
		// A guessed id in a URL: 199 characters, then an emoji (two UTF-16 units) across the
		// 200-character limit of targetId; the same across the limits of the other fields.
		const cut = (limit: number) => 'a'.repeat(limit - 1) + '😀😀';
		const event = {
			action: 'document.denied' as const,
			outcome: 'denied' as const,
			actor: { id: 1, name: cut(2000), roles: ['staff'] },
			ip: cut(100),
			userAgent: cut(500),
			requestId: cut(100),
			target: { type: cut(100), id: cut(200) }
		};
		await appendAuditEvents(db, [event]);
		await appendOwnTransaction(db, [event]);
		const rows = await db
			.select({ ...getTableColumns(auditEvent), occurredAt: sql<string>`${occurredAtText}` })
			.from(auditEvent)
			.where(sql`seq > ${max ?? 0}`)
			.orderBy(asc(auditEvent.seq));
		expect(rows).toHaveLength(2);
		for (const row of rows) {
			expect(chainHash(row.prevHash, row)).toBe(row.hash);
			expect(row.targetId).toBe(`${'a'.repeat(199)}\uFFFD…`);
			expect(row.targetId!.isWellFormed()).toBe(true);
		}
	});
});

describe('appendOwnTransaction', () => {
	it('keeps one gap-free valid chain when it races locked appends and itself', async () => {
		const db = database.handle.db;
		const [{ n: before } = { n: 0 }] = await db
			.select({ n: sql<number>`count(*)::int` })
			.from(auditEvent);
		// On PostgreSQL these run on several pooled connections at once, so heads move between
		// the unlocked read and the conditional step: conflicts, retries and the locked fallback.
		await Promise.all(
			Array.from({ length: 60 }, (_, i) =>
				i % 3 === 0
					? appendAuditEvents(db, [{ action: 'document.edit', outcome: 'allowed', details: { i } }])
					: appendOwnTransaction(db, [
							{ action: 'document.view', outcome: 'allowed', details: { i, roles: ['a'] } },
							{
								action: 'document.search',
								outcome: 'denied',
								actor: { id: i, name: `P\u0000${i}`, roles: ['staff', 'auditor'] },
								details: { q: '"\n<x>', nested: { z: [1.5, -0, 1e21], a: null } }
							}
						])
			)
		);
		const rows = await db
			.select({ ...getTableColumns(auditEvent), occurredAt: sql<string>`${occurredAtText}` })
			.from(auditEvent)
			.orderBy(asc(auditEvent.seq));
		expect(rows.length).toBe(Number(before) + 20 + 40 * 2);
		let prev = GENESIS_HASH;
		rows.forEach((row, k) => {
			expect(row.seq).toBe(k + 1);
			expect(row.prevHash).toBe(prev);
			expect(chainHash(prev, row)).toBe(row.hash);
			prev = row.hash;
		});
		const head = await db.execute(sql`select seq, hash from audit_head`);
		const [h] = (Array.isArray(head) ? head : (head as { rows: unknown[] }).rows) as {
			seq: unknown;
			hash: string;
		}[];
		expect(Number(h!.seq)).toBe(rows.length);
		expect(h!.hash).toBe(prev);
		const roles = rows.find((r) => r.actorName === 'P\u24001')?.actorRoles;
		expect(roles).toEqual(['staff', 'auditor']);
	});
});

describe('appendOwnTransaction with the head it wrote last', () => {
	const chainRowsOf = async () => {
		const db = database.handle.db;
		return db
			.select({ ...getTableColumns(auditEvent), occurredAt: sql<string>`${occurredAtText}` })
			.from(auditEvent)
			.orderBy(asc(auditEvent.seq));
	};

	it('takes one statement per step while it wrote the head, and re-reads it when not', async () => {
		const db = database.handle.db;
		await appendOwnTransaction(db, [{ action: 'document.view', outcome: 'allowed' }]);
		const execute = vi.spyOn(db, 'execute');
		try {
			await appendOwnTransaction(db, [{ action: 'document.view', outcome: 'allowed' }]);
			expect(execute).toHaveBeenCalledTimes(1);
			// Another writer moves the head: the guess is refused by the statement's condition,
			// nothing is written, and the head is read again.
			await db.transaction((tx) =>
				appendAuditEvents(tx, [{ action: 'document.edit', outcome: 'allowed' }])
			);
			execute.mockClear();
			await appendOwnTransaction(db, [{ action: 'document.search', outcome: 'allowed' }]);
			expect(execute).toHaveBeenCalledTimes(3);
		} finally {
			execute.mockRestore();
		}
		const rows = await chainRowsOf();
		let prev = GENESIS_HASH;
		rows.forEach((row, k) => {
			expect(row.seq).toBe(k + 1);
			expect(chainHash(prev, row)).toBe(row.hash);
			prev = row.hash;
		});
		expect(rows.slice(-3).map((r) => r.action)).toEqual([
			'document.view',
			'document.edit',
			'document.search'
		]);
	});

	it('stamps events with the database clock, never earlier than its own event before', async () => {
		const db = database.handle.db;
		const [clock] = await queryRows<{ now: string }>(
			db,
			sql`select ${timeText(sql`clock_timestamp()`)} as now`
		);
		const before = parseTimeText(clock!.now);
		for (let i = 0; i < 20; i++) {
			await appendOwnTransaction(db, [{ action: 'document.view', outcome: 'allowed' }]);
			// Now and then another writer moves the head: the next step reads the clock again.
			if (i % 5 === 4) {
				await db.transaction((tx) =>
					appendAuditEvents(tx, [{ action: 'document.edit', outcome: 'allowed' }])
				);
			}
		}
		const rows = await chainRowsOf();
		const times = rows
			.filter((r) => r.action === 'document.view')
			.slice(-20)
			.map((r) => parseTimeText(r.occurredAt));
		expect(times).toHaveLength(20);
		for (let i = 1; i < times.length; i++) expect(times[i]!).toBeGreaterThanOrEqual(times[i - 1]!);
		// Carried forward from the database clock: not before the clock was read above, and not
		// after it is read again below (give or take the half round trip the estimate may be off).
		const [after] = await queryRows<{ now: string }>(
			db,
			sql`select ${timeText(sql`clock_timestamp()`)} as now`
		);
		expect(times[0]!).toBeGreaterThanOrEqual(before - 100_000);
		expect(times.at(-1)!).toBeLessThanOrEqual(parseTimeText(after!.now) + 100_000);
	});

	it('never stamps an event earlier than the one before it, whoever wrote that', async () => {
		const db = database.handle.db;
		// Another instance's last event, stamped from its own reading of the clock a little
		// ahead of the database's (here: a minute; only the time is changed, as that instance
		// would have written it, so the owner switches the append-only triggers off for it).
		await db.transaction(async (tx) => {
			await appendAuditEvents(tx, [{ action: 'document.edit', outcome: 'allowed' }]);
		});
		await db.transaction(async (tx) => {
			await tx.execute(sql`set local session_replication_role = replica`);
			await tx.execute(sql`update audit_event set occurred_at = clock_timestamp() + interval '1 minute'
				where seq = (select max(seq) from audit_event)`);
		});
		const [ahead] = await queryRows<{ at: string }>(
			db,
			sql`select ${occurredAtText} as at from audit_event order by seq desc limit 1`
		);
		// This process's own step reads the head again (another writer moved it), and so does a
		// locked append in a transaction.
		await appendOwnTransaction(db, [{ action: 'document.view', outcome: 'allowed' }]);
		await db.transaction((tx) =>
			appendAuditEvents(tx, [{ action: 'document.search', outcome: 'allowed' }])
		);
		const last = (await chainRowsOf()).slice(-3).map((r) => parseTimeText(r.occurredAt));
		expect(last[1]!).toBeGreaterThanOrEqual(parseTimeText(ahead!.at));
		expect(last[2]!).toBeGreaterThanOrEqual(last[1]!);
	});

	it('renders and parses times as the database does', () => {
		for (const text of ['2026-12-03T15:40:17.000001Z', '1999-01-31T23:59:59.999999Z']) {
			expect(formatTimeText(parseTimeText(text))).toBe(text);
		}
		expect(() => parseTimeText('2026-12-03 15:40:17')).toThrow();
	});
});

describe('record', () => {
	it('writes concurrent events together, each committed before its promise resolves', async () => {
		const db = database.handle.db;
		setDatabase(database.handle);
		const before = (await db.select({ seq: auditEvent.seq }).from(auditEvent)).length;
		await Promise.all(
			Array.from({ length: 40 }, (_, i) =>
				record({ action: 'document.search', outcome: 'allowed', details: { i } })
			)
		);
		const rows = await db.select({ seq: auditEvent.seq }).from(auditEvent);
		expect(rows.length).toBe(before + 40);
	});

	it('writes events once when a step committed but its answer was lost', async () => {
		const db = database.handle.db;
		setDatabase(database.handle);
		const count = async () => (await db.select({ seq: auditEvent.seq }).from(auditEvent)).length;
		const before = await count();
		// The step's statement runs and commits, then the connection "drops" before the answer.
		const execute = db.execute.bind(db);
		let dropped = 0;
		const spy = vi.spyOn(db, 'execute').mockImplementation((async (query: unknown) => {
			const result = await execute(query as Parameters<typeof execute>[0]);
			const text = JSON.stringify(query);
			if (dropped < 2 && text.includes('insert into audit_event')) {
				dropped++;
				throw new Error('connection lost after commit');
			}
			return result;
		}) as typeof db.execute);
		try {
			// A shared step of three, then a step of one: each committed, each answer lost.
			await Promise.all(
				[1, 2, 3].map((n) =>
					record({ action: 'document.view', outcome: 'allowed', details: { n } })
				)
			);
			await record({ action: 'document.view', outcome: 'allowed', details: { n: 4 } });
		} finally {
			spy.mockRestore();
		}
		expect(dropped).toBe(2);
		// Every caller went on, and each event is in the log once, in one unbroken chain.
		expect(await count()).toBe(before + 4);
		const rows = await db
			.select({ ...getTableColumns(auditEvent), occurredAt: sql<string>`${occurredAtText}` })
			.from(auditEvent)
			.orderBy(asc(auditEvent.seq));
		const ns = rows.slice(-4).map((r) => (r.details as { n: number }).n);
		expect(ns.sort()).toEqual([1, 2, 3, 4]);
		for (let k = rows.length - 4; k < rows.length; k++) {
			expect(chainHash(rows[k - 1]!.hash, rows[k]!)).toBe(rows[k]!.hash);
		}
	});

	it('fails only the event that cannot be written when a shared step fails', async () => {
		const db = database.handle.db;
		setDatabase(database.handle);
		await db.execute(sql`create function test_poison() returns trigger language plpgsql as $$
			begin if new.details ? 'poison' then raise exception 'refused'; end if; return new; end $$`);
		await db.execute(
			sql`create trigger test_poison before insert on audit_event for each row execute function test_poison()`
		);
		try {
			const results = await Promise.allSettled([
				record({ action: 'document.view', outcome: 'allowed', details: { n: 1 } }),
				record({ action: 'document.view', outcome: 'allowed', details: { poison: true } }),
				record({ action: 'document.view', outcome: 'allowed', details: { n: 3 } })
			]);
			expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
		} finally {
			await db.execute(sql`drop trigger test_poison on audit_event`);
			await db.execute(sql`drop function test_poison()`);
		}
	});
});
