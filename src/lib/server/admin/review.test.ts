import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../../tests/helpers/database';
import { daysFromNow, seedAdminWorld } from '../../../../tests/helpers/admin';
import { setDatabase, type Database } from '../db';
import { auditEvent, grant } from '../db/schema';
import * as approvals from './approvals';
import type { MailMessage } from '../mail';
import { AdminError } from './context';
import * as grants from './grants';
import * as notifications from './notifications';
import * as review from './review';

let database: TestDatabase;
let db: Database;
let w: Awaited<ReturnType<typeof seedAdminWorld>>;

beforeAll(async () => {
	database = await createTestDatabase();
	db = database.handle.db;
	w = await seedAdminWorld(db);
});
afterAll(async () => {
	await database?.drop();
});

describe('access review', () => {
	it('lists every account, with who granted and approved each line and what expires soon', async () => {
		await grants.request(db, w.adminA.ctx, {
			accountId: w.staff.id,
			kind: 'compartment',
			compartmentId: w.sda.id,
			justification: '=HYPERLINK("http://evil.example","x")',
			endDate: daysFromNow(5)
		});
		const lines = await review.lines(db);
		const accounts = new Set(lines.map((l) => l.accountId));
		for (const p of [w.adminA, w.adminB, w.adminC, w.staff, w.liaison, w.auditor])
			expect(accounts.has(p.id)).toBe(true);
		const line = lines.find((l) => l.accountId === w.staff.id && l.what === 'SDA')!;
		expect(line.grantedByName).toBe('admin-a');
		expect(line.expiringSoon).toBe(true);
	});

	it('exports a BOM-prefixed CSV with formulas neutralised, and audits the export', async () => {
		const csv = await review.exportCsv(db, w.adminB.ctx);
		expect(csv.startsWith('\uFEFF"account_id"')).toBe(true);
		expect(csv).toContain(`"'=HYPERLINK(""http://evil.example"",""x"")"`);
		expect(csv).not.toMatch(/(^|,)"=/m);
		const [event] = await db
			.select()
			.from(auditEvent)
			.where(eq(auditEvent.action, 'review.exported'));
		expect(event!.actorId).toBe(w.adminB.id);
		expect(csv.trimEnd().split('\r\n').length - 1).toBe(event!.details.lines);
	});

	it('attests a line, but never the attester’s own grant', async () => {
		const [line] = await db.select().from(grant).where(eq(grant.accountId, w.staff.id));
		await review.attest(db, w.adminC.ctx, line!.id);
		const [after] = await db.select().from(grant).where(eq(grant.id, line!.id));
		expect(after!.attestedBy).toBe(w.adminC.id);
		const own = await grants.request(db, w.adminB.ctx, {
			accountId: w.adminC.id,
			kind: 'level',
			levelRank: 1,
			justification: 'Reads restricted memos',
			endDate: null
		});
		if (own.status !== 'created') throw new Error('expected created');
		await expect(review.attest(db, w.adminC.ctx, own.grantId)).rejects.toBeInstanceOf(AdminError);
	});

	it('refuses attesting a grant one granted or approved, or one not in force now', async () => {
		const attestedBy = async (id: number) =>
			(await db.select().from(grant).where(eq(grant.id, id)))[0]!.attestedBy;
		// Granted by A at once: A may not review it, C may.
		const granted = await grants.request(db, w.adminA.ctx, {
			accountId: w.liaison.id,
			kind: 'level',
			levelRank: 1,
			justification: 'Reads restricted memos',
			endDate: null
		});
		if (granted.status !== 'created') throw new Error('expected created');
		await expect(review.attest(db, w.adminA.ctx, granted.grantId)).rejects.toMatchObject({
			code: 'own_grant',
			status: 403
		});
		expect(await attestedBy(granted.grantId)).toBeNull();
		// The review page knows whose grant it is, so it offers A no button the server refuses.
		const line = (await review.lines(db)).find((l) => l.grantId === granted.grantId);
		expect(line).toMatchObject({ grantedBy: w.adminA.id, approvedBy: null });
		// Filed by A, approved by B: neither may review it.
		const filed = await grants.request(db, w.adminA.ctx, {
			accountId: w.liaison.id,
			kind: 'level',
			levelRank: 3,
			justification: 'SECRET exercise',
			endDate: daysFromNow(10)
		});
		if (filed.status !== 'pending') throw new Error('expected pending');
		await approvals.approve(db, w.adminB.ctx, { requestId: filed.requestId, comment: 'Checked' });
		const [made] = await db
			.select()
			.from(grant)
			.where(and(eq(grant.accountId, w.liaison.id), eq(grant.levelRank, 3)));
		for (const person of [w.adminA, w.adminB])
			await expect(review.attest(db, person.ctx, made!.id)).rejects.toMatchObject({
				code: 'own_grant'
			});
		expect(await attestedBy(made!.id)).toBeNull();
		await review.attest(db, w.adminC.ctx, made!.id);
		expect(await attestedBy(made!.id)).toBe(w.adminC.id);
		// Expired, not yet begun, revoked: none is on the review, none can be attested.
		const now = Date.now();
		const day = 86_400_000;
		const lapsed: [number, number | null, number | null][] = [
			[now - 10 * day, now - day, null], // expired yesterday
			[now + day, null, null], // begins tomorrow
			[now - day, null, now - day / 24] // revoked an hour ago
		];
		const rows = await db
			.insert(grant)
			.values(
				lapsed.map(([from, until, revoked]) => ({
					accountId: w.staff.id,
					kind: 'level' as const,
					levelRank: 1,
					reason: 'Not in force',
					grantedBy: w.adminA.id,
					validFrom: new Date(from),
					validUntil: until === null ? null : new Date(until),
					revokedAt: revoked === null ? null : new Date(revoked)
				}))
			)
			.returning();
		const codes: string[] = [];
		for (const row of rows) {
			await review.attest(db, w.adminC.ctx, row.id).then(
				() => codes.push('attested'),
				(e: AdminError) => codes.push(e.code)
			);
			expect(await attestedBy(row.id)).toBeNull();
		}
		expect(codes).toEqual(['grant_not_current', 'grant_not_current', 'already_revoked']);
	});

	it('refuses the export to a non-administrator', async () => {
		for (const p of [w.staff, w.liaison, w.auditor])
			await expect(review.exportCsv(db, p.ctx)).rejects.toMatchObject({ code: 'forbidden' });
	});
});

describe('administrator notices', () => {
	it('mails each administrator about pending approvals and expiring grants once a day', async () => {
		await grants.request(db, w.adminA.ctx, {
			accountId: w.liaison.id,
			kind: 'level',
			levelRank: 3,
			justification: 'Liaison for the SECRET exercise',
			endDate: daysFromNow(20)
		});
		const sent: MailMessage[] = [];
		const mailer = { send: async (m: MailMessage) => void sent.push(m) };
		const now = new Date();
		const first = await notifications.notifyAdministrators(db, mailer, now);
		expect(first.recipients).toBe(3);
		expect(sent.map((m) => m.to).sort()).toEqual([
			'admin-a@test.example',
			'admin-b@test.example',
			'admin-c@test.example'
		]);
		expect(sent[0]!.text).toContain('SDA');
		expect(sent[0]!.text).toContain('for liaison');

		const again = await notifications.notifyAdministrators(db, mailer, now);
		expect(again.items).toBe(0);
		expect(sent).toHaveLength(3);

		const tomorrow = new Date(now.getTime() + 86_400_000);
		const next = await notifications.notifyAdministrators(db, mailer, tomorrow);
		expect(next.items).toBeGreaterThan(0);
	});

	it('feeds the home panel of administrators only', async () => {
		setDatabase(database.handle);
		expect(await notifications.panelFor(w.staff.ctx.actor)).toBeNull();
		expect(await notifications.panelFor(null)).toBeNull();
		const panel = (await notifications.panelFor(w.adminA.ctx.actor))!;
		setDatabase(undefined);
		expect(panel.pendingCount).toBeGreaterThan(0);
		expect(panel.expiring.some((e) => e.what === 'SDA')).toBe(true);
	});
});
