import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { and, desc, eq, not, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClearedAuditor } from '../../../../tests/helpers/audit';
import { createTestDatabase, type TestDatabase } from '../../../../tests/helpers/database';
import { effectiveAccess, readableSql, type Access } from '../access';
import type { SessionUser } from '../auth/types';
import { loadConfig, setConfig } from '../config';
import { setDatabase, type Database } from '../db';
import { account, auditEvent, document, grant } from '../db/schema';
import { withDemoKeys } from '../demo-keys';
import { seedDemoData } from '../seed';
import { createObjectStore, getObjectStore, setObjectStore } from '../storage';
import { appendAuditEvents } from './append';
import { writeCheckpoint } from './checkpoint';
import { signingKeys } from './integrity';
import * as workspace from './workspace';

let database: TestDatabase;
let db: Database;
let dataDir: string;
let auditor: SessionUser;
/** An auditor whose own access reaches `secret` (the senior fellow's grants). */
let cleared: SessionUser;
let access: Access;
let readable: { id: number; title: string };
let secret: { id: number; title: string };
const label = (id: number) => `restricted document #${id}`;

async function userByEmail(email: string): Promise<SessionUser> {
	const [row] = await db.select().from(account).where(eq(account.email, email));
	return {
		id: row!.id,
		email: row!.email,
		displayName: row!.displayName,
		organisationId: row!.organisationId,
		roles: row!.roles,
		locale: null,
		timeZone: 'Asia/Tokyo'
	};
}

beforeAll(async () => {
	dataDir = mkdtempSync(path.join(os.tmpdir(), 'jiss-audit-ws-'));
	database = await createTestDatabase();
	db = database.handle.db;
	const config = withDemoKeys(loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent' }));
	setConfig(config);
	setDatabase(database.handle);
	const store = await createObjectStore(config.storage);
	setObjectStore(store);
	await seedDemoData(db, store, config);
	auditor = await userByEmail('auditor@jiss.example');
	access = (await effectiveAccess(db, auditor.id))!;
	const fellow = await userByEmail('fellow@jiss.example');
	await createClearedAuditor(db, auditor.organisationId, fellow.id);
	cleared = await userByEmail('cleared.auditor@jiss.example');
	const clearedAccess = (await effectiveAccess(db, cleared.id))!;
	readable = (
		await db
			.select({ id: document.id, title: document.title })
			.from(document)
			.where(readableSql(access))
			.limit(1)
	)[0]!;
	secret = (
		await db
			.select({ id: document.id, title: document.title })
			.from(document)
			.where(and(not(readableSql(access)), readableSql(clearedAccess)))
			.limit(1)
	)[0]!;
});

afterAll(async () => {
	setDatabase(undefined);
	await database?.drop();
	rmSync(dataDir, { recursive: true, force: true });
});

describe('the auditor sees titles only where their own access reaches', () => {
	it('names readable documents and hides the others, inside details too', async () => {
		const actor = { id: 1, name: 'Someone on staff', roles: ['staff'] };
		await appendAuditEvents(db, [
			{
				action: 'document.view',
				outcome: 'allowed',
				actor,
				target: { type: 'document', id: readable.id },
				details: { documentId: readable.id, title: readable.title }
			},
			{
				action: 'document.reclassify',
				outcome: 'allowed',
				actor,
				target: { type: 'document', id: secret.id },
				details: {
					documentId: secret.id,
					title: secret.title,
					before: { title: secret.title, level: 3 },
					after: { title: secret.title, level: 4 }
				}
			}
		]);
		const { events } = await workspace.listEvents(auditor, {}, undefined, label);
		const [hidden, shown] = events;
		expect(shown!.document).toEqual({ id: readable.id, title: readable.title });
		expect(hidden!.document).toEqual({ id: secret.id, title: null });
		expect(JSON.stringify(hidden)).not.toContain(secret.title);
		expect(hidden!.details).toMatchObject({
			title: label(secret.id),
			before: { title: label(secret.id), level: 3 }
		});
		const history = await workspace.listEvents(auditor, { document: secret.id }, undefined, label);
		expect(history.events.map((e) => e.seq)).toEqual([hidden!.seq]);
		expect(await workspace.documentTitle(auditor, secret.id)).toBeNull();
		expect(await workspace.documentTitle(auditor, readable.id)).toBe(readable.title);
	});
});

/** Everything a reader of `secret` would learn of its content from these events. */
const content = {
	summary: 'Summary of the orbit study q7x',
	tags: ['tag-q7x', 'tag-r8y'],
	newSummary: 'Revised summary q7x',
	fileName: 'orbit-study-q7x.pdf',
	reason: 'Downgraded after the q7x review'
};

async function appendSecretEvents(): Promise<number[]> {
	const actor = { id: 1, name: 'Someone on staff', roles: ['staff'] };
	const doc = { documentId: secret.id, title: secret.title };
	const target = { type: 'document', id: secret.id };
	const sha256 = 'ab'.repeat(32);
	const rows = await appendAuditEvents(db, [
		{
			action: 'document.edit',
			outcome: 'allowed',
			actor,
			target,
			details: {
				...doc,
				version: 2,
				sha256,
				size: 1234,
				before: { title: secret.title, summary: content.summary, tags: content.tags },
				after: { title: secret.title, summary: content.newSummary, tags: content.tags }
			}
		},
		{
			action: 'document.upload',
			outcome: 'allowed',
			actor,
			target,
			details: {
				...doc,
				version: 1,
				fileName: content.fileName,
				size: 1234,
				sha256,
				contentType: 'application/pdf',
				level: 3
			}
		},
		{
			action: 'document.version_added',
			outcome: 'allowed',
			actor,
			target,
			details: {
				...doc,
				version: 2,
				previousVersion: 1,
				fileName: content.fileName,
				size: 99,
				sha256
			}
		},
		{
			action: 'document.download',
			outcome: 'allowed',
			actor,
			target,
			details: { ...doc, version: 2, fileName: content.fileName, range: '0-99' }
		},
		{
			action: 'document.preview',
			outcome: 'allowed',
			actor,
			target,
			details: { ...doc, version: 2, fileName: content.fileName }
		},
		{
			action: 'document.reclassify',
			outcome: 'allowed',
			actor,
			target,
			details: {
				...doc,
				reason: content.reason,
				before: { levelRank: 4, compartmentIds: [1], releaseOrgIds: [1] },
				after: { levelRank: 3, compartmentIds: [1], releaseOrgIds: [1] }
			}
		},
		{
			action: 'document.denied',
			outcome: 'denied',
			actor,
			target,
			details: {
				...doc,
				reason: 'level',
				attempted: 'document.view',
				method: 'GET',
				path: `/documents/${secret.id}`
			}
		}
	]);
	return rows.map((r) => r.seq);
}

const leaks = () => [
	secret.title,
	content.summary,
	content.newSummary,
	content.fileName,
	content.reason,
	...content.tags
];

describe('the content of documents the auditor may not read', () => {
	it('is withheld from every details field, in lists, pages, exports and the panel; a cleared auditor sees it', async () => {
		const seqs = await appendSecretEvents();
		const seen = async (viewer: SessionUser) => {
			const log = await workspace.listEvents(viewer, {}, undefined, label);
			const history = await workspace.listEvents(viewer, { document: secret.id }, undefined, label);
			const pages = await Promise.all(seqs.map((seq) => workspace.getEvent(viewer, seq, label)));
			const exported = await Promise.all(
				(['csv', 'jsonl'] as const).map(async (format) =>
					new Response(
						await workspace.exportEvents({}, viewer, { document: secret.id }, format, label)
					).text()
				)
			);
			const panel = await workspace.panel(viewer, label);
			// Newest first, after them the earlier tests' events about the same document.
			expect(history.events.slice(0, seqs.length).map((e) => e.seq)).toEqual([...seqs].reverse());
			expect(panel.recentDenials[0]!.seq).toBe(seqs.at(-1));
			return {
				log,
				history,
				pages,
				exported,
				panel,
				all: JSON.stringify({ log, history, pages, exported, panel })
			};
		};

		const hidden = await seen(auditor);
		for (const text of leaks()) expect(hidden.all, text).not.toContain(text);
		const [edit, upload, , download, , reclassify, denied] = hidden.pages;
		const withheld = label(secret.id);
		expect(edit!.details).toEqual({
			documentId: secret.id,
			title: withheld,
			version: 2,
			sha256: 'ab'.repeat(32),
			size: 1234,
			before: { title: withheld, summary: withheld, tags: withheld },
			after: { title: withheld, summary: withheld, tags: withheld }
		});
		expect(upload!.details).toMatchObject({
			fileName: withheld,
			contentType: 'application/pdf',
			level: 3
		});
		expect(download!.details).toMatchObject({ fileName: withheld, version: 2, range: '0-99' });
		expect(reclassify!.details).toMatchObject({
			reason: withheld,
			before: { levelRank: 4, compartmentIds: [1], releaseOrgIds: [1] },
			after: { levelRank: 3 }
		});
		// A reason code is no content: the auditor sees why the reader was refused.
		expect(denied!.details).toMatchObject({
			reason: 'level',
			attempted: 'document.view',
			path: `/documents/${secret.id}`,
			title: withheld
		});
		expect(hidden.panel.recentDenials[0]!.document).toEqual({ id: secret.id, title: null });

		const shown = await seen(cleared);
		for (const text of leaks()) expect(shown.all, text).toContain(text);
		for (const text of leaks()) {
			expect(shown.exported[0], `csv ${text}`).toContain(text);
			expect(shown.exported[1], `jsonl ${text}`).toContain(text);
		}
		expect(shown.pages[0]!.details).toMatchObject({
			before: { summary: content.summary, tags: content.tags }
		});
		expect(shown.panel.recentDenials[0]!.document).toEqual({ id: secret.id, title: secret.title });
	});
});

describe('filters and keyset pagination', () => {
	it('filters by person, document, action, outcome, IP and time range', async () => {
		await appendAuditEvents(db, [
			{
				action: 'auth.sign_in',
				outcome: 'denied',
				ip: '198.51.100.7',
				details: { reason: 'bad password' }
			},
			{
				action: 'document.download',
				outcome: 'allowed',
				ip: '198.51.100.8',
				actor: { id: auditor.id, name: auditor.displayName, roles: ['auditor'] },
				target: { type: 'document', id: readable.id }
			}
		]);
		const byIp = await workspace.listEvents(auditor, { ip: '198.51.100.7' }, undefined, label);
		expect(byIp.events.map((e) => e.action)).toEqual(['auth.sign_in']);
		const denied = await workspace.listEvents(auditor, { outcome: 'denied' }, undefined, label);
		expect(denied.events.every((e) => e.outcome === 'denied')).toBe(true);
		expect(denied.events.length).toBeGreaterThan(0);
		const mine = await workspace.listEvents(
			auditor,
			{ person: auditor.id, action: 'document.download' },
			undefined,
			label
		);
		expect(mine.events).toHaveLength(1);
		expect(mine.events[0]!.document?.id).toBe(readable.id);
		const future = await workspace.listEvents(auditor, { from: '2999-01-01' }, undefined, label);
		expect(future.events).toEqual([]);
		const past = await workspace.listEvents(auditor, { to: '2000-01-01T00:00' }, undefined, label);
		expect(past.events).toEqual([]);
		const around = await workspace.listEvents(
			auditor,
			{ from: '2000-01-01', to: '2999-01-01', ip: '198.51.100.8' },
			undefined,
			label
		);
		expect(around.events).toHaveLength(1);
	});

	it('pages through the log with no overlap and no gap', async () => {
		const batch = Array.from({ length: 130 }, (_, i) => ({
			action: 'document.search' as const,
			outcome: 'allowed' as const,
			details: { query: `q${i}` }
		}));
		await appendAuditEvents(db, batch);
		const [head] = await db
			.select({ seq: auditEvent.seq })
			.from(auditEvent)
			.orderBy(desc(auditEvent.seq))
			.limit(1);
		const seen: number[] = [];
		let before: number | undefined;
		for (;;) {
			const page = await workspace.listEvents(auditor, {}, before, label);
			expect(page.events.length).toBeLessThanOrEqual(workspace.PAGE_SIZE);
			seen.push(...page.events.map((e) => e.seq));
			if (page.next === null) break;
			before = page.next;
		}
		expect(seen).toEqual(Array.from({ length: head!.seq }, (_, i) => head!.seq - i));
	});

	it('reads a time typed in the reader’s zone as that zone’s instant', () => {
		expect(workspace.zonedToUtc('2026-03-01T09:00', 'Asia/Tokyo').toISOString()).toBe(
			'2026-03-01T00:00:00.000Z'
		);
		expect(workspace.zonedToUtc('2026-07-01', 'Europe/London').toISOString()).toBe(
			'2026-06-30T23:00:00.000Z'
		);
		// The next day's midnight, across the end of a month and of a year.
		expect(workspace.zonedToUtc('2026-02-28', 'Asia/Tokyo', 1).toISOString()).toBe(
			'2026-02-28T15:00:00.000Z'
		);
		expect(workspace.zonedToUtc('9999-12-31', 'America/New_York', 1).getUTCFullYear()).toBe(10000);
		// Refused, not rolled over to 3 March or read as an invalid instant.
		for (const impossible of ['2026-02-31', '2026-13-01', '2026-03-01T25:00']) {
			expect(() => workspace.zonedToUtc(impossible, 'Asia/Tokyo'), impossible).toThrow(RangeError);
		}
	});

	it('takes the whole range of dates the filter accepts, in a zone behind UTC', async () => {
		const west = { ...auditor, timeZone: 'America/Los_Angeles' };
		const all = await workspace.listEvents(west, {}, undefined, label);
		const wide = await workspace.listEvents(
			west,
			{ from: '1000-01-01', to: '9999-12-31' },
			undefined,
			label
		);
		expect(wide.events.map((e) => e.seq)).toEqual(all.events.map((e) => e.seq));
		const stream = await workspace.exportEvents({}, west, { to: '9999-12-31' }, 'jsonl', label);
		expect((await new Response(stream).text()).length).toBeGreaterThan(0);
	});
});

describe('export', () => {
	it('withholds what a search typed when its results include a document the auditor may not read', async () => {
		const actor = { id: 1, name: 'Someone on staff', roles: ['staff'] };
		// An autocomplete matches titles: what was typed is the beginning of one.
		const typed = secret.title.slice(0, 12);
		await appendAuditEvents(db, [
			{
				action: 'document.search',
				outcome: 'allowed',
				actor,
				details: { q: typed, kind: 'suggest', returned: 1, documentIds: [secret.id] }
			},
			{
				action: 'document.search',
				outcome: 'allowed',
				actor,
				details: { q: 'orbit', kind: 'suggest', returned: 1, documentIds: [readable.id] }
			}
		]);
		const [open, searched] = (await workspace.listEvents(auditor, {}, undefined, label)).events;
		expect(searched!.details).toMatchObject({ q: label(secret.id), documentIds: [secret.id] });
		expect(searched!.document).toBeNull();
		expect(JSON.stringify(searched)).not.toContain(typed);
		// Results the auditor may read leave it as typed; a cleared auditor sees both.
		expect(open!.details).toMatchObject({ q: 'orbit' });
		const [, seen] = (await workspace.listEvents(cleared, {}, undefined, label)).events;
		expect(seen!.details).toMatchObject({ q: typed });
	});

	it('shows an event about an id no document can have (a guess of ten digits), in pages and exports', async () => {
		await appendAuditEvents(db, [
			{
				action: 'document.denied',
				outcome: 'denied',
				actor: { id: 1, name: 'Someone on staff', roles: ['staff'] },
				target: { type: 'document', id: '9999999999' },
				details: { reason: 'invalid_id', documentId: null }
			}
		]);
		const { events } = await workspace.listEvents(auditor, {}, undefined, label);
		expect(events[0]).toMatchObject({ targetId: '9999999999', document: null });
		expect((await workspace.getEvent(auditor, events[0]!.seq, label))?.targetId).toBe('9999999999');
		expect(await workspace.documentTitle(auditor, 9_999_999_999)).toBeNull();
		const csv = await new Response(
			await workspace.exportEvents({}, auditor, {}, 'csv', label)
		).text();
		expect(csv).toContain('9999999999');
	});

	it('records the export first, then streams CSV with a BOM and neutralised formulas', async () => {
		await appendAuditEvents(db, [
			{
				action: 'document.search',
				outcome: 'allowed',
				ip: '192.0.2.44',
				userAgent: '=HYPERLINK("http://evil.example","click")',
				details: { query: '+cmd|calc', line: 'a\r\nb' }
			}
		]);
		const context = {
			actor: { id: auditor.id, name: auditor.displayName, roles: ['auditor'] },
			requestId: 'exp-1'
		};
		const stream = await workspace.exportEvents(
			context,
			auditor,
			{ ip: '192.0.2.44' },
			'csv',
			label
		);
		// Recorded before a single byte was read from the stream.
		const [recorded] = await db.select().from(auditEvent).orderBy(desc(auditEvent.seq)).limit(1);
		expect(recorded).toMatchObject({
			action: 'audit.exported',
			actorId: auditor.id,
			requestId: 'exp-1'
		});
		expect(recorded!.details).toMatchObject({
			format: 'csv',
			filter: { ip: '192.0.2.44' },
			// The zone the filter's wall-clock times are read in.
			timeZone: 'Asia/Tokyo'
		});
		const bytes = new Uint8Array(await new Response(stream).arrayBuffer());
		expect([...bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
		const text = new TextDecoder().decode(bytes);
		expect(text).toContain(`"'=HYPERLINK(""http://evil.example"",""click"")"`);
		expect(text).not.toMatch(/(^|,)"=/m);
		const lines = text.trim().split('\r\n');
		expect(lines).toHaveLength(2);
	});

	it('streams JSON Lines with titles withheld as in the log', async () => {
		const stream = await workspace.exportEvents(
			{},
			auditor,
			{ document: secret.id },
			'jsonl',
			label
		);
		const text = await new Response(stream).text();
		const rows = text
			.trim()
			.split('\n')
			.map((l) => JSON.parse(l) as workspace.AuditEventView);
		expect(rows.length).toBeGreaterThan(0);
		expect(rows.every((r) => r.document?.id === secret.id && r.document.title === null)).toBe(true);
		expect(text).not.toContain(secret.title);
	});

	it('fails closed: no stream when the export cannot be recorded', async () => {
		await db.execute(sql`create function test_refuse() returns trigger language plpgsql as $$
			begin raise exception 'audit store down'; end $$`);
		await db.execute(
			sql`create trigger test_refuse before insert on audit_event for each row execute function test_refuse()`
		);
		try {
			await expect(workspace.exportEvents({}, auditor, {}, 'csv', label)).rejects.toThrow();
			await expect(workspace.recordView({}, 'log')).rejects.toThrow();
		} finally {
			await db.execute(sql`drop trigger test_refuse on audit_event`);
			await db.execute(sql`drop function test_refuse()`);
		}
	});
});

describe('access review', () => {
	it('lists valid grants with who granted them and flags those ending within 30 days', async () => {
		const rows = await workspace.accessReview();
		const mine = rows.filter((r) => r.accountId === auditor.id);
		expect(mine.map((r) => r.levelCode ?? r.compartmentCode).sort()).toEqual([
			'CONFIDENTIAL',
			'SDA'
		]);
		expect(mine.every((r) => r.grantedBy && r.reason)).toBe(true);
		expect(mine.some((r) => r.expiringSoon)).toBe(false);

		const [someGrant] = await db
			.select()
			.from(grant)
			.where(eq(grant.accountId, auditor.id))
			.limit(1);
		const inTenDays = new Date(Date.now() + 10 * 24 * 3600_000);
		await db.insert(grant).values({
			accountId: auditor.id,
			kind: 'level',
			levelRank: 1,
			reason: 'Temporary cover',
			grantedBy: someGrant!.grantedBy,
			validUntil: inTenDays
		});
		await db.insert(grant).values({
			accountId: auditor.id,
			kind: 'level',
			levelRank: 3,
			reason: 'Revoked already',
			grantedBy: someGrant!.grantedBy,
			revokedAt: new Date()
		});
		const expiring = await workspace.accessReview({ expiringOnly: true });
		expect(expiring.map((r) => [r.accountId, r.reason, r.expiringSoon])).toEqual([
			[auditor.id, 'Temporary cover', true]
		]);
		const all = await workspace.accessReview();
		expect(all.some((r) => r.reason === 'Revoked already')).toBe(false);
	});
});

describe('events whose details were altered in the database', () => {
	it('are listed, shown and exported, and the panel still finds the last checkpoint', async () => {
		const store = getObjectStore();
		const first = await writeCheckpoint(db, store, signingKeys());
		await appendAuditEvents(db, [
			{
				action: 'document.view',
				outcome: 'denied',
				target: { type: 'document', id: secret.id },
				details: { documentId: secret.id, title: secret.title }
			},
			{
				action: 'document.view',
				outcome: 'allowed',
				target: { type: 'document', id: readable.id },
				details: { documentId: readable.id, title: readable.title }
			}
		]);
		await writeCheckpoint(db, store, signingKeys());
		const altered = await db
			.select({ seq: auditEvent.seq, details: auditEvent.details })
			.from(auditEvent)
			.orderBy(desc(auditEvent.seq))
			.limit(3);
		const [checkpointRow, readableRow, secretRow] = altered as [
			(typeof altered)[0],
			(typeof altered)[0],
			(typeof altered)[0]
		];
		const setDetails = (seq: number, value: string) =>
			db.transaction(async (tx) => {
				// As a superuser would: the row triggers off for this transaction.
				await tx.execute(sql`set local session_replication_role = replica`);
				await tx.execute(sql`update audit_event set details = ${value}::jsonb where seq = ${seq}`);
			});
		await setDetails(checkpointRow.seq, 'null');
		await setDetails(readableRow.seq, '"a string"');
		await setDetails(secretRow.seq, JSON.stringify(secret.title));
		try {
			const seqs = altered.map((r) => r.seq);
			const { events } = await workspace.listEvents(auditor, {}, undefined, label);
			expect(events.slice(0, 3).map((e) => [e.seq, e.details])).toEqual([
				[checkpointRow.seq, null],
				[readableRow.seq, 'a string'],
				// The details of a document the auditor may not read are withheld even as a bare string.
				[secretRow.seq, label(secret.id)]
			]);
			expect(events[1]!.document).toEqual({ id: readable.id, title: readable.title });
			for (const seq of seqs) {
				expect((await workspace.getEvent(auditor, seq, label))?.seq).toBe(seq);
			}
			for (const format of ['csv', 'jsonl'] as const) {
				const text = await new Response(
					await workspace.exportEvents({}, auditor, {}, format, label)
				).text();
				expect(text).toContain(
					format === 'csv' ? `"${checkpointRow.seq}"` : `"seq":${checkpointRow.seq}`
				);
				expect(text).not.toContain(secret.title);
			}
			const panel = await workspace.panel(auditor, label);
			expect(panel.lastCheckpoint?.seq).toBe(first!.checkpoint.seq);
			expect(panel.recentDenials.some((e) => e.seq === secretRow.seq)).toBe(true);
		} finally {
			for (const row of altered) await setDetails(row.seq, JSON.stringify(row.details));
		}
	});
});

describe('verification and the home panel', () => {
	it('records who verified and what was found; the panel shows it with recent denials', async () => {
		const context = { actor: { id: auditor.id, name: auditor.displayName, roles: ['auditor'] } };
		const report = await workspace.verify(context);
		expect(report.ok).toBe(true);
		const [recorded] = await db
			.select()
			.from(auditEvent)
			.where(and(eq(auditEvent.action, 'audit.verified')))
			.orderBy(desc(auditEvent.seq))
			.limit(1);
		expect(recorded).toMatchObject({ actorId: auditor.id, outcome: 'allowed' });
		expect(recorded!.details).toMatchObject({
			ok: true,
			events: report.events,
			firstFailure: null
		});
		const panel = await workspace.panel(auditor, label);
		expect(panel.lastVerification).toMatchObject({ ok: true, actorName: auditor.displayName });
		expect(panel.recentDenials.length).toBeGreaterThan(0);
		expect(panel.recentDenials.every((e) => e.outcome === 'denied')).toBe(true);
		expect(panel.eventsLast24h).toBeGreaterThan(100);
	});
});
