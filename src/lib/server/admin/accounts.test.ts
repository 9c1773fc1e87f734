import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../../tests/helpers/database';
import { contextFor, seedAdminWorld } from '../../../../tests/helpers/admin';
import { newestEvent } from '../../../../tests/helpers/audit';
import { effectiveAccess } from '../access';
import * as enrolments from '../auth/enrolment';
import * as sessions from '../auth/sessions';
import { SECOND_FACTOR_LOCKOUT } from '../auth/sign-in';
import { loadConfig, setConfig } from '../config';
import type { Database } from '../db';
import { account, approvalRequest, auditEvent, enrolment, session } from '../db/schema';
import { setMailer, type MailMessage } from '../mail';
import * as accounts from './accounts';
import * as approvals from './approvals';
import * as grants from './grants';
import { AdminError } from './context';
import { applyDisable, applyRoles } from './roles';

let database: TestDatabase;
let db: Database;
let w: Awaited<ReturnType<typeof seedAdminWorld>>;
const outbox: MailMessage[] = [];

beforeAll(async () => {
	database = await createTestDatabase();
	db = database.handle.db;
	setConfig(
		loadConfig({
			INTRANET_MODE: 'demo',
			DATA_DIR: 'tests/.tmp/admin-accounts',
			ORIGIN: 'http://127.0.0.1:3000'
		})
	);
	setMailer({ send: async (message) => void outbox.push(message) });
	w = await seedAdminWorld(db);
});
afterAll(async () => {
	setMailer(undefined);
	await database?.drop();
});

async function refusal(promise: Promise<unknown>): Promise<string> {
	try {
		await promise;
	} catch (error) {
		if (error instanceof AdminError) return error.code;
		throw error;
	}
	throw new Error('expected a refusal');
}

describe('accounts', () => {
	it('creates a pending account and mails the link to the person only, after the commit', async () => {
		const { accountId, requestId } = await accounts.create(db, w.adminA.ctx, {
			displayName: 'Ito Hana',
			email: 'Hana.Ito@JISS.example',
			organisationId: w.jiss.id,
			roles: ['staff']
		});
		expect(requestId).toBeNull();
		const [row] = await db.select().from(account).where(eq(account.id, accountId));
		expect(row).toMatchObject({
			status: 'pending',
			roles: ['staff'],
			email: 'hana.ito@jiss.example'
		});
		expect(outbox.map((m) => m.to)).toEqual(['hana.ito@jiss.example']);
		expect(outbox[0]!.text).toMatch(/\/enrol\/[A-Za-z0-9_-]{20,}/);
		const [link] = await db.select().from(enrolment).where(eq(enrolment.accountId, accountId));
		expect(link!.requestedBy).toBe(w.adminA.id);
		const events = await db
			.select()
			.from(auditEvent)
			.where(eq(auditEvent.targetId, String(accountId)));
		expect(events.map((e) => e.action)).toEqual(['account.created', 'auth.enrolment_sent']);
		// No audit record anywhere carries the link.
		const token = /\/enrol\/([A-Za-z0-9_-]+)/.exec(outbox[0]!.text)![1]!;
		const all = await db.select().from(auditEvent);
		expect(JSON.stringify(all)).not.toContain(token);
		expect(
			await refusal(
				accounts.create(db, w.adminB.ctx, {
					displayName: 'Dup',
					email: 'hana.ito@jiss.example',
					organisationId: w.jiss.id,
					roles: []
				})
			)
		).toBe('email_taken');
	});

	it('files administrator and auditor roles for approval, and never both on one account', async () => {
		const { accountId, requestId } = await accounts.create(db, w.adminA.ctx, {
			displayName: 'Ueda Jun',
			email: 'jun.ueda@jiss.example',
			organisationId: w.jiss.id,
			roles: ['staff', 'auditor'],
			justification: 'New internal auditor'
		});
		expect(requestId).not.toBeNull();
		const [row] = await db.select().from(account).where(eq(account.id, accountId));
		expect(row!.roles).toEqual(['staff']);
		expect(
			await refusal(
				accounts.create(db, w.adminA.ctx, {
					displayName: 'Both',
					email: 'both@jiss.example',
					organisationId: w.jiss.id,
					roles: ['administrator', 'auditor'],
					justification: 'x'
				})
			)
		).toBe('separation_of_duties');
		expect(
			await refusal(
				accounts.changeRoles(db, w.adminA.ctx, {
					accountId: w.auditor.id,
					roles: ['auditor', 'administrator'],
					justification: 'x'
				})
			)
		).toBe('separation_of_duties');
		// The database refuses it as well.
		await expect(
			db
				.update(account)
				.set({ roles: ['administrator', 'auditor'] })
				.where(eq(account.id, w.auditor.id))
		).rejects.toThrow();
		await approvals.approve(db, w.adminB.ctx, { requestId: requestId!, comment: 'Confirmed' });
		const [after] = await db.select().from(account).where(eq(account.id, accountId));
		expect(after!.roles).toEqual(['auditor', 'staff']);
	});

	it('lists and searches with the effective level and compartments valid now', async () => {
		const g = await grants.request(db, w.adminA.ctx, {
			accountId: w.auditor.id,
			kind: 'level',
			levelRank: 2,
			justification: 'Reviews CONFIDENTIAL logs',
			endDate: null
		});
		await grants.request(db, w.adminA.ctx, {
			accountId: w.auditor.id,
			kind: 'compartment',
			compartmentId: w.sda.id,
			justification: 'SDA logs',
			endDate: null
		});
		const found = await accounts.list(db, { q: 'AUDITOR@test' });
		expect(found.total).toBe(1);
		expect(found.rows[0]).toMatchObject({
			level: 2,
			compartments: ['SDA'],
			organisationCode: 'JISS'
		});
		if (g.status !== 'created') throw new Error('expected created');
		await grants.revoke(db, w.adminB.ctx, { grantId: g.grantId, reason: 'Not needed' });
		expect((await accounts.list(db, { q: 'auditor' })).rows[0]!.level).toBe(0);
		// A search term is text, never a pattern.
		expect((await accounts.list(db, { q: '%' })).total).toBe(0);
		expect((await accounts.list(db, { q: 'USA' })).rows.map((r) => r.displayName)).toEqual([
			'liaison'
		]);
		const all = await accounts.list(db, { page: 99 });
		expect(all.page).toBe(all.pages);
	});

	it('refuses changing one’s own roles or organisation, or disabling oneself', async () => {
		expect(
			await refusal(
				accounts.changeRoles(db, w.adminA.ctx, {
					accountId: w.adminA.id,
					roles: ['administrator', 'staff'],
					justification: 'x'
				})
			)
		).toBe('self');
		expect(
			await refusal(
				accounts.requestOrganisationChange(db, w.adminA.ctx, {
					accountId: w.adminA.id,
					organisationId: w.usa.id,
					justification: 'x'
				})
			)
		).toBe('self');
		expect(
			await refusal(accounts.disable(db, w.adminA.ctx, { accountId: w.adminA.id, reason: 'x' }))
		).toBe('self');
	});

	it('changes staff/liaison roles at once but sends an organisation change to approval', async () => {
		const r = await accounts.changeRoles(db, w.adminA.ctx, {
			accountId: w.staff.id,
			roles: ['staff', 'liaison'],
			justification: ''
		});
		expect(r.status).toBe('applied');
		const { requestId } = await accounts.requestOrganisationChange(db, w.adminA.ctx, {
			accountId: w.staff.id,
			organisationId: w.usa.id,
			justification: 'Seconded to the US office'
		});
		const [row] = await db.select().from(account).where(eq(account.id, w.staff.id));
		expect(row!.organisationId).toBe(w.jiss.id);
		expect(await refusal(approvals.approve(db, w.adminA.ctx, { requestId, comment: 'self' }))).toBe(
			'self'
		);
		await approvals.approve(db, w.adminC.ctx, { requestId, comment: 'Confirmed' });
		expect((await effectiveAccess(db, w.staff.id))!.organisationId).toBe(w.usa.id);
		const [event] = await db
			.select()
			.from(auditEvent)
			.where(eq(auditEvent.action, 'account.organisation_changed'));
		expect(event!.details).toMatchObject({
			before: { organisationId: w.jiss.id },
			after: { organisationId: w.usa.id }
		});
	});

	it('disables an account and ends its open sessions in the same transaction', async () => {
		await sessions.create(db, { accountId: w.liaison.id, mfaVerified: true });
		await sessions.create(db, { accountId: w.liaison.id, mfaVerified: true });
		await accounts.disable(db, w.adminA.ctx, {
			accountId: w.liaison.id,
			reason: 'Left the office'
		});
		expect(await db.select().from(session).where(eq(session.accountId, w.liaison.id))).toHaveLength(
			0
		);
		expect(await effectiveAccess(db, w.liaison.id)).toBeNull();
		const [event] = await db
			.select()
			.from(auditEvent)
			.where(eq(auditEvent.action, 'account.disabled'));
		expect(event!.details).toMatchObject({
			before: { status: 'active' },
			after: { status: 'disabled' },
			sessionsEnded: 2
		});
		await accounts.enable(db, w.adminB.ctx, { accountId: w.liaison.id, reason: 'Returned' });
		const [row] = await db.select().from(account).where(eq(account.id, w.liaison.id));
		expect(row!.status).toBe('active');
	});

	it('enables an account locked out by wrong codes without its credentials, with a reset link', async () => {
		// As the sign-in's lockout leaves it (src/lib/server/auth/sign-in.ts, tested there).
		const [locked] = await db
			.insert(account)
			.values({
				email: 'locked.out@jiss.example',
				displayName: 'Locked Out',
				organisationId: w.jiss.id,
				roles: ['staff'],
				status: 'disabled',
				disabledAt: new Date(),
				passwordHash: 'a hash someone else has the password of',
				totpSecret: new Uint8Array([1, 2, 3]),
				totpKeyId: 'k1',
				secondFactorFailures: SECOND_FACTOR_LOCKOUT
			})
			.returning();
		const shown = await accounts.get(db, locked!.id);
		expect(shown!.account).toMatchObject({ status: 'disabled', lockedOut: true });
		expect(shown!.secondFactorLockout).toBe(SECOND_FACTOR_LOCKOUT);

		const mails = outbox.length;
		await accounts.enable(db, w.adminA.ctx, { accountId: locked!.id, reason: 'Spoke to her' });
		const [row] = await db.select().from(account).where(eq(account.id, locked!.id));
		expect(row).toMatchObject({
			status: 'pending',
			disabledAt: null,
			passwordHash: null,
			totpSecret: null,
			totpKeyId: null,
			secondFactorFailures: 0
		});
		expect((await accounts.get(db, locked!.id))!.account.lockedOut).toBe(false);
		const links = await db.select().from(enrolment).where(eq(enrolment.accountId, locked!.id));
		expect(links.map((l) => [l.purpose, l.usedAt])).toEqual([['reset', null]]);
		expect(outbox.slice(mails).map((m) => m.to)).toEqual(['locked.out@jiss.example']);
		expect(outbox.at(-1)!.text).toContain('/enrol/');
		const event = await newestEvent(db, 'account.enabled');
		expect(event!.details).toMatchObject({
			reason: 'Spoke to her',
			lockedOut: true,
			credentialsCleared: true,
			after: { status: 'pending' }
		});

		// An account an administrator disabled is not shown as locked out, and keeps its password.
		await accounts.disable(db, w.adminA.ctx, { accountId: w.staff.id, reason: 'Leave' });
		expect((await accounts.get(db, w.staff.id))!.account.lockedOut).toBe(false);
		await accounts.enable(db, w.adminA.ctx, { accountId: w.staff.id, reason: 'Back from leave' });
		const [staff] = await db.select().from(account).where(eq(account.id, w.staff.id));
		expect(staff!.status).toBe('active');
		expect(staff!.passwordHash).not.toBeNull();
	});

	it('brings back an administrator or auditor only with a second administrator', async () => {
		const disabledWith = async (
			email: string,
			roles: ('administrator' | 'auditor')[],
			lockedOut = false
		) => {
			const [row] = await db
				.insert(account)
				.values({
					email,
					displayName: email,
					organisationId: w.jiss.id,
					roles,
					status: 'disabled',
					disabledAt: new Date(),
					passwordHash: 'a hash',
					secondFactorFailures: lockedOut ? SECOND_FACTOR_LOCKOUT : 0
				})
				.returning();
			return row!;
		};
		const former = await disabledWith('former.admin@jiss.example', ['administrator']);
		const filed = await accounts.enable(db, w.adminA.ctx, { accountId: former.id, reason: 'Back' });
		expect(filed).toMatchObject({ status: 'pending' });
		const requestId = (filed as { requestId: number }).requestId;
		const stillDisabled = async () =>
			(await db.select().from(account).where(eq(account.id, former.id)))[0]!.status;
		expect(await stillDisabled()).toBe('disabled');
		expect(
			await refusal(accounts.enable(db, w.adminA.ctx, { accountId: former.id, reason: 'Again' }))
		).toBe('already_requested');
		expect(
			await refusal(approvals.approve(db, w.adminA.ctx, { requestId, comment: 'Myself' }))
		).toBe('self');
		expect(await stillDisabled()).toBe('disabled');

		await approvals.approve(db, w.adminB.ctx, { requestId, comment: 'Confirmed with HR' });
		expect(await stillDisabled()).toBe('active');
		const event = await newestEvent(db, 'account.enabled');
		expect(event).toMatchObject({
			actorId: w.adminB.id,
			targetId: String(former.id),
			details: { reason: 'Back', approvalRequestId: requestId, after: { status: 'active' } }
		});
		// The later tests count the active administrators.
		const again = await accounts.disable(db, w.adminB.ctx, {
			accountId: former.id,
			reason: 'Left again'
		});
		if (again.status !== 'pending') throw new Error('expected pending');
		await approvals.approve(db, w.adminC.ctx, { requestId: again.requestId, comment: 'Agreed' });
		expect(await stillDisabled()).toBe('disabled');

		// A locked-out auditor comes back as any locked-out account: pending, with a reset link.
		const auditor = await disabledWith('locked.auditor@jiss.example', ['auditor'], true);
		const second = await accounts.enable(db, w.adminA.ctx, {
			accountId: auditor.id,
			reason: 'Spoke to him'
		});
		const mails = outbox.length;
		await approvals.approve(db, w.adminC.ctx, {
			requestId: (second as { requestId: number }).requestId,
			comment: 'Agreed'
		});
		const [row] = await db.select().from(account).where(eq(account.id, auditor.id));
		expect(row).toMatchObject({ status: 'pending', passwordHash: null, secondFactorFailures: 0 });
		expect(outbox.slice(mails).map((m) => m.to)).toEqual(['locked.auditor@jiss.example']);
		expect(outbox.at(-1)!.text).toContain('/enrol/');
	});

	it('disables an administrator or auditor only with a second administrator', async () => {
		const [auditorSession, adminSession] = [
			await sessions.create(db, { accountId: w.auditor.id, mfaVerified: true }),
			await sessions.create(db, { accountId: w.adminB.id, mfaVerified: true })
		];
		const statusOf = async (id: number) =>
			(await db.select().from(account).where(eq(account.id, id)))[0]!.status;

		// One administrator alone changes nothing: each request waits.
		const filed = [];
		for (const subject of [w.adminB, w.auditor]) {
			const r = await accounts.disable(db, w.adminA.ctx, {
				accountId: subject.id,
				reason: 'Suspected compromise'
			});
			if (r.status !== 'pending') throw new Error('expected pending');
			filed.push(r.requestId);
			expect(await statusOf(subject.id)).toBe('active');
			expect(
				await refusal(accounts.disable(db, w.adminC.ctx, { accountId: subject.id, reason: 'x' }))
			).toBe('already_requested');
		}
		expect(await sessions.validate(db, adminSession.token)).not.toBeNull();
		expect(await sessions.validate(db, auditorSession.token)).not.toBeNull();
		const [adminRequest, auditorRequest] = filed as [number, number];
		const [row] = await db
			.select()
			.from(approvalRequest)
			.where(eq(approvalRequest.id, adminRequest));
		expect(row).toMatchObject({
			kind: 'account_disable',
			subjectAccountId: w.adminB.id,
			requestedBy: w.adminA.id,
			payload: { roles: ['administrator'], status: 'active' },
			justification: 'Suspected compromise'
		});

		// Neither the requester nor the person concerned approves it.
		for (const [who, id] of [
			[w.adminA, adminRequest],
			[w.adminB, adminRequest]
		] as const) {
			expect(await refusal(approvals.approve(db, who.ctx, { requestId: id, comment: 'x' }))).toBe(
				'self'
			);
		}
		expect(await statusOf(w.adminB.id)).toBe('active');

		// A second administrator: disabled, sessions ended, audited with the request.
		await approvals.approve(db, w.adminC.ctx, { requestId: adminRequest, comment: 'Confirmed' });
		expect(await statusOf(w.adminB.id)).toBe('disabled');
		expect(await sessions.validate(db, adminSession.token)).toBeNull();
		const event = await newestEvent(db, 'account.disabled');
		expect(event).toMatchObject({
			actorId: w.adminC.id,
			targetId: String(w.adminB.id),
			details: {
				reason: 'Suspected compromise',
				approvalRequestId: adminRequest,
				sessionsEnded: 1,
				before: { status: 'active' },
				after: { status: 'disabled' }
			}
		});
		await approvals.reject(db, w.adminC.ctx, { requestId: auditorRequest, comment: 'Not needed' });
		expect(await statusOf(w.auditor.id)).toBe('active');

		// Back, as an administrator comes back: with a second administrator.
		const back = await accounts.enable(db, w.adminA.ctx, {
			accountId: w.adminB.id,
			reason: 'Cleared'
		});
		if (back.status !== 'pending') throw new Error('expected pending');
		await approvals.approve(db, w.adminC.ctx, { requestId: back.requestId, comment: 'Cleared' });
		expect(await statusOf(w.adminB.id)).toBe('active');
	});

	it('ends every session of an account without disabling it, audited, never on oneself', async () => {
		const first = await sessions.create(db, { accountId: w.staff.id, mfaVerified: true });
		await sessions.create(db, { accountId: w.staff.id, mfaVerified: true });
		const ended = await accounts.endSessions(db, w.adminA.ctx, {
			accountId: w.staff.id,
			reason: 'Laptop reported lost'
		});
		expect(ended).toBe(2);
		expect(await db.select().from(session).where(eq(session.accountId, w.staff.id))).toHaveLength(
			0
		);
		expect(await sessions.validate(db, first.token)).toBeNull();
		const [row] = await db.select().from(account).where(eq(account.id, w.staff.id));
		expect(row!.status).toBe('active');
		const events = await db
			.select()
			.from(auditEvent)
			.where(eq(auditEvent.action, 'account.sessions_ended'));
		expect(events).toHaveLength(1);
		expect(events[0]).toMatchObject({
			actorId: w.adminA.id,
			targetType: 'account',
			targetId: String(w.staff.id),
			details: { reason: 'Laptop reported lost', sessionsEnded: 2 }
		});
		await expect(
			accounts.endSessions(db, w.adminA.ctx, { accountId: w.adminA.id, reason: 'Mine' })
		).rejects.toMatchObject({ code: 'self' });
		await expect(
			accounts.endSessions(db, w.adminA.ctx, { accountId: w.staff.id, reason: ' ' })
		).rejects.toThrow();
	});

	it('mails a reset link to an enrolled person, never to a disabled account', async () => {
		outbox.length = 0;
		await accounts.sendEnrolmentLink(db, w.adminA.ctx, { accountId: w.staff.id });
		expect(outbox.map((m) => m.to)).toEqual(['staff@test.example']);
		const links = await db.select().from(enrolment).where(eq(enrolment.accountId, w.staff.id));
		expect(links.map((l) => l.purpose)).toEqual(['reset']);
		await accounts.disable(db, w.adminA.ctx, { accountId: w.staff.id, reason: 'Leave' });
		expect(
			await refusal(accounts.sendEnrolmentLink(db, w.adminA.ctx, { accountId: w.staff.id }))
		).toBe('account_disabled');
		expect(outbox).toHaveLength(1);
		await accounts.enable(db, w.adminA.ctx, { accountId: w.staff.id, reason: 'Back' });
	});

	it('withdraws unused enrolment and reset links on disabling, so enabling does not revive them', async () => {
		const tokenIn = (message: MailMessage) =>
			/\/enrol\/([A-Za-z0-9_-]{43})/.exec(message.text)![1]!;
		outbox.length = 0;
		const { accountId } = await accounts.create(db, w.adminA.ctx, {
			displayName: 'Mori Aoi',
			email: 'aoi.mori@jiss.example',
			organisationId: w.jiss.id,
			roles: ['staff']
		});
		await accounts.sendEnrolmentLink(db, w.adminA.ctx, { accountId: w.staff.id });
		const [enrol, reset] = outbox.map(tokenIn);
		expect(await enrolments.lookup(db, enrol!)).toMatchObject({ accountId, purpose: 'enrol' });
		expect(await enrolments.lookup(db, reset!)).toMatchObject({
			accountId: w.staff.id,
			purpose: 'reset'
		});

		for (const id of [accountId, w.staff.id]) {
			await accounts.disable(db, w.adminA.ctx, { accountId: id, reason: 'Leave' });
			await accounts.enable(db, w.adminA.ctx, { accountId: id, reason: 'Back' });
		}
		expect(await enrolments.lookup(db, enrol!)).toBeNull();
		expect(await enrolments.lookup(db, reset!)).toBeNull();
		expect(await db.select().from(enrolment).where(eq(enrolment.accountId, accountId))).toEqual([]);
		const disabled = await db
			.select()
			.from(auditEvent)
			.where(eq(auditEvent.action, 'account.disabled'))
			.orderBy(auditEvent.seq);
		expect(disabled.slice(-2).map((e) => [e.targetId, e.details.linksRevoked])).toEqual([
			[String(accountId), 1],
			[String(w.staff.id), 1]
		]);
	});

	it('keeps the last active administrator: not disabled, not demoted, even in a race', async () => {
		const removal = await accounts.changeRoles(db, w.adminA.ctx, {
			accountId: w.adminC.id,
			roles: ['staff'],
			justification: 'Moving to research'
		});
		if (removal.status !== 'pending') throw new Error('expected pending');
		expect(
			await refusal(
				approvals.approve(db, w.adminC.ctx, { requestId: removal.requestId, comment: 'x' })
			)
		).toBe('self');
		await approvals.approve(db, w.adminB.ctx, { requestId: removal.requestId, comment: 'Agreed' });

		// Two administrators left, each disabling the other at the same moment: each only files a
		// request, which neither of them may approve (one filed it, the other is its subject).
		const results = await Promise.all([
			accounts.disable(db, w.adminA.ctx, { accountId: w.adminB.id, reason: 'race' }),
			accounts.disable(db, w.adminB.ctx, { accountId: w.adminA.id, reason: 'race' })
		]);
		expect(results.map((r) => r.status)).toEqual(['pending', 'pending']);
		for (const r of results) {
			const requestId = (r as { requestId: number }).requestId;
			for (const who of [w.adminA, w.adminB])
				expect(await refusal(approvals.approve(db, who.ctx, { requestId, comment: 'x' }))).toBe(
					'self'
				);
			await approvals.withdraw(db, r === results[0] ? w.adminA.ctx : w.adminB.ctx, { requestId });
		}
		const admins = await db.select().from(account).where(eq(account.status, 'active'));
		expect(
			admins
				.filter((a) => a.roles.includes('administrator'))
				.map((a) => a.id)
				.sort()
		).toEqual([w.adminA.id, w.adminB.id].sort());

		// Disabling applied on approval keeps the last administrator too.
		await expect(
			db.transaction((tx) => applyDisable(tx, w.adminA.ctx, w.adminB.id, 'x', null))
		).resolves.toBeUndefined();
		await expect(
			db.transaction((tx) => applyDisable(tx, w.adminB.ctx, w.adminA.id, 'x', null))
		).rejects.toMatchObject({ code: 'last_administrator' });
		const last = w.adminA;
		await expect(
			db.transaction((tx) =>
				applyRoles(tx, w.adminA.ctx, last.id, { add: [], remove: ['administrator'] }, null)
			)
		).rejects.toMatchObject({ code: 'last_administrator' });
	});
});

describe('administrators acting on each other at once', () => {
	it('take turns: one acts, the other is refused by the rules, never a deadlock', async () => {
		const admins = await db
			.insert(account)
			.values(
				Array.from({ length: 10 }, (_, i) => ({
					email: `turns-${i}@test.example`,
					displayName: `turns ${i}`,
					organisationId: w.jiss.id,
					roles: ['administrator' as const],
					status: 'active' as const,
					passwordHash: 'not-a-real-hash'
				}))
			)
			.returning();
		for (let round = 0; round < admins.length; round += 2) {
			const [x, y] = [admins[round]!, admins[round + 1]!];
			// A third administrator asks to disable both; each approves the request about the other.
			const filed = async (subject: typeof x) => {
				const r = await accounts.disable(db, w.adminA.ctx, {
					accountId: subject.id,
					reason: 'turns'
				});
				return (r as { requestId: number }).requestId;
			};
			const [aboutX, aboutY] = [await filed(x), await filed(y)];
			const results = await Promise.allSettled([
				approvals.approve(db, contextFor(x), { requestId: aboutY, comment: 'turns' }),
				approvals.approve(db, contextFor(y), { requestId: aboutX, comment: 'turns' })
			]);
			expect(
				results.filter((r) => r.status === 'fulfilled'),
				`round ${round}`
			).toHaveLength(1);
			const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
			// The one who was disabled first is no longer an administrator: refused as such.
			expect(lost.reason, `round ${round}`).toBeInstanceOf(AdminError);
			expect((lost.reason as AdminError).code).toBe('forbidden');
		}
	});
});
