import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../../tests/helpers/database';
import { contextFor, daysFromNow, seedAdminWorld } from '../../../../tests/helpers/admin';
import { canRead, effectiveAccess, readableSql } from '../access';
import * as sessions from '../auth/sessions';
import { loadConfig, setConfig } from '../config';
import type { Database } from '../db';
import { account, approvalRequest, auditEvent, compartment, document, grant } from '../db/schema';
import * as accounts from './accounts';
import * as approvals from './approvals';
import { AdminError, endOfDay, latestEndDate } from './context';
import * as grants from './grants';
import * as reference from './reference';
import * as settings from './settings';

let database: TestDatabase;
let db: Database;
let w: Awaited<ReturnType<typeof seedAdminWorld>>;

/** The configuration with the longest grant set to `days` (the default when undefined). */
function grantLimit(days?: number) {
	setConfig(
		loadConfig({
			INTRANET_MODE: 'demo',
			DATA_DIR: 'tests/.tmp/admin-grants',
			...(days === undefined ? {} : { GRANT_MAX_DAYS: String(days) })
		})
	);
}

beforeAll(async () => {
	grantLimit();
	database = await createTestDatabase();
	db = database.handle.db;
	w = await seedAdminWorld(db);
});
afterAll(async () => {
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

const secretRequest = (accountId: number, justification = 'Programme needs it') =>
	({
		accountId,
		kind: 'level',
		levelRank: 3,
		justification,
		endDate: daysFromNow(30)
	}) as const;

describe('grants below and at the two-person threshold', () => {
	it('grants CONFIDENTIAL at once (no end date needed below the configured level)', async () => {
		const result = await grants.request(db, w.adminA.ctx, {
			accountId: w.staff.id,
			kind: 'level',
			levelRank: 2,
			justification: 'Needs CONFIDENTIAL briefings',
			endDate: null
		});
		expect(result.status).toBe('created');
		expect((await effectiveAccess(db, w.staff.id))!.level).toBe(2);
		const events = await db.select().from(auditEvent).where(eq(auditEvent.action, 'grant.created'));
		expect(events.at(-1)!.details).toMatchObject({ before: null, after: { levelRank: 2 } });
	});

	it('files SECRET for approval and changes nothing until a second administrator approves', async () => {
		const result = await grants.request(db, w.adminA.ctx, secretRequest(w.staff.id));
		expect(result.status).toBe('pending');
		expect((await effectiveAccess(db, w.staff.id))!.level).toBe(2);
		if (result.status !== 'pending') throw new Error('unreachable');
		await approvals.approve(db, w.adminB.ctx, {
			requestId: result.requestId,
			comment: 'Checked with programme lead'
		});
		expect((await effectiveAccess(db, w.staff.id))!.level).toBe(3);
		const [row] = await db
			.select()
			.from(approvalRequest)
			.where(eq(approvalRequest.id, result.requestId));
		expect(row!.status).toBe('approved');
		const [created] = await db.select().from(grant).where(eq(grant.id, row!.resultGrantId!));
		expect(created!.grantedBy).toBe(w.adminA.id);
		expect(created!.approvedBy).toBe(w.adminB.id);
	});

	it('refuses a self-grant, even below the threshold', async () => {
		expect(
			await refusal(
				grants.request(db, w.adminA.ctx, {
					accountId: w.adminA.id,
					kind: 'level',
					levelRank: 1,
					justification: 'I need it',
					endDate: null
				})
			)
		).toBe('self');
		expect((await effectiveAccess(db, w.adminA.id))!.level).toBe(0);
	});

	it('refuses a self-approval', async () => {
		const r = await grants.request(db, w.adminA.ctx, secretRequest(w.liaison.id));
		if (r.status !== 'pending') throw new Error('expected pending');
		expect(
			await refusal(approvals.approve(db, w.adminA.ctx, { requestId: r.requestId, comment: 'ok' }))
		).toBe('self');
		expect(
			await refusal(approvals.reject(db, w.adminA.ctx, { requestId: r.requestId, comment: 'no' }))
		).toBe('self');
		const [row] = await db
			.select()
			.from(approvalRequest)
			.where(eq(approvalRequest.id, r.requestId));
		expect(row!.status).toBe('pending');
		await approvals.withdraw(db, w.adminA.ctx, { requestId: r.requestId });
	});

	it('refuses an approval by the grantee', async () => {
		const r = await grants.request(db, w.adminA.ctx, secretRequest(w.adminC.id));
		if (r.status !== 'pending') throw new Error('expected pending');
		expect(
			await refusal(
				approvals.approve(db, w.adminC.ctx, { requestId: r.requestId, comment: 'mine' })
			)
		).toBe('self');
		expect((await effectiveAccess(db, w.adminC.id))!.level).toBe(0);
		// The database refuses it too, whatever the code above does.
		await expect(
			db
				.update(approvalRequest)
				.set({ status: 'approved', decidedBy: w.adminC.id })
				.where(eq(approvalRequest.id, r.requestId))
		).rejects.toThrow();
		await approvals.reject(db, w.adminB.ctx, { requestId: r.requestId, comment: 'Not needed' });
	});

	it('refuses approving a request whose requester is no longer an administrator', async () => {
		const [row] = await db
			.insert(account)
			.values({
				email: 'departing.admin@test.example',
				displayName: 'Departing',
				organisationId: w.jiss.id,
				roles: ['administrator'],
				status: 'active',
				passwordHash: 'not-a-real-hash'
			})
			.returning();
		const departing = contextFor(row!);
		const r = await grants.request(db, departing, secretRequest(w.liaison.id));
		if (r.status !== 'pending') throw new Error('expected pending');
		// Disabling an administrator takes two administrators too.
		const leaving = await accounts.disable(db, w.adminA.ctx, {
			accountId: row!.id,
			reason: 'Left the institute'
		});
		if (leaving.status !== 'pending') throw new Error('expected pending');
		await approvals.approve(db, w.adminC.ctx, {
			requestId: leaving.requestId,
			comment: 'HR confirmed'
		});
		expect(
			await refusal(
				approvals.approve(db, w.adminB.ctx, { requestId: r.requestId, comment: 'Looks fine' })
			)
		).toBe('requester_not_administrator');
		expect((await effectiveAccess(db, w.liaison.id))!.level).toBe(0);
		const [pending] = await db
			.select()
			.from(approvalRequest)
			.where(eq(approvalRequest.id, r.requestId));
		expect(pending!.status).toBe('pending');
		// It can still be cleared away.
		await approvals.reject(db, w.adminB.ctx, { requestId: r.requestId, comment: 'Requester left' });
	});

	it('refuses approving a request already approved, rejected or withdrawn', async () => {
		const approved = await grants.request(db, w.adminA.ctx, secretRequest(w.liaison.id));
		const rejected = await grants.request(db, w.adminA.ctx, secretRequest(w.liaison.id));
		const withdrawn = await grants.request(db, w.adminA.ctx, secretRequest(w.liaison.id));
		if (
			approved.status !== 'pending' ||
			rejected.status !== 'pending' ||
			withdrawn.status !== 'pending'
		)
			throw new Error('expected pending');
		await approvals.approve(db, w.adminB.ctx, { requestId: approved.requestId, comment: 'ok' });
		await approvals.reject(db, w.adminB.ctx, { requestId: rejected.requestId, comment: 'no' });
		await approvals.withdraw(db, w.adminA.ctx, { requestId: withdrawn.requestId });
		for (const id of [approved.requestId, rejected.requestId, withdrawn.requestId]) {
			expect(
				await refusal(approvals.approve(db, w.adminC.ctx, { requestId: id, comment: 'again' }))
			).toBe('already_decided');
		}
		const liaisonGrants = await db
			.select()
			.from(grant)
			.where(and(eq(grant.accountId, w.liaison.id), eq(grant.levelRank, 3)));
		expect(liaisonGrants).toHaveLength(1);
	});

	it('gives exactly one outcome when one administrator approves while the requester withdraws', async () => {
		for (let i = 0; i < 4; i++) {
			const r = await grants.request(db, w.adminA.ctx, secretRequest(w.staff.id, `race ${i}`));
			if (r.status !== 'pending') throw new Error('expected pending');
			const results = await Promise.allSettled([
				approvals.approve(db, w.adminB.ctx, { requestId: r.requestId, comment: 'approve' }),
				approvals.withdraw(db, w.adminA.ctx, { requestId: r.requestId }),
				approvals.reject(db, w.adminC.ctx, { requestId: r.requestId, comment: 'reject' })
			]);
			const won = results.filter((x) => x.status === 'fulfilled');
			expect(won).toHaveLength(1);
			for (const lost of results.filter((x) => x.status === 'rejected')) {
				expect((lost.reason as AdminError).code).toBe('already_decided');
			}
			const [row] = await db
				.select()
				.from(approvalRequest)
				.where(eq(approvalRequest.id, r.requestId));
			const made = await db
				.select()
				.from(grant)
				.where(eq(grant.reason, `race ${i}`));
			expect(made).toHaveLength(row!.status === 'approved' ? 1 : 0);
			const decisions = await db
				.select()
				.from(auditEvent)
				.where(
					and(
						eq(auditEvent.targetType, 'approval_request'),
						eq(auditEvent.targetId, String(r.requestId))
					)
				);
			// One request record plus exactly one decision record.
			expect(decisions.map((e) => e.action).filter((a) => a !== 'grant.requested')).toHaveLength(1);
		}
	});

	it('revokes a grant once when two administrators revoke it at the same moment', async () => {
		const r = await grants.request(db, w.adminA.ctx, {
			accountId: w.liaison.id,
			kind: 'level',
			levelRank: 1,
			justification: 'Twice revoked',
			endDate: null
		});
		if (r.status !== 'created') throw new Error('expected created');
		const results = await Promise.allSettled([
			grants.revoke(db, w.adminB.ctx, { grantId: r.grantId, reason: 'first' }),
			grants.revoke(db, w.adminC.ctx, { grantId: r.grantId, reason: 'second' })
		]);
		expect(results.filter((x) => x.status === 'fulfilled')).toHaveLength(1);
		const events = await db
			.select()
			.from(auditEvent)
			.where(
				and(eq(auditEvent.action, 'grant.revoked'), eq(auditEvent.targetId, String(r.grantId)))
			);
		expect(events).toHaveLength(1);
	});

	it('refuses an end date in the past, and a missing one at SECRET', async () => {
		expect(
			await refusal(
				grants.request(db, w.adminA.ctx, { ...secretRequest(w.staff.id), endDate: daysFromNow(-1) })
			)
		).toBe('end_date_past');
		expect(
			await refusal(
				grants.request(db, w.adminA.ctx, { ...secretRequest(w.staff.id), endDate: null })
			)
		).toBe('end_date_required');
		expect(
			await refusal(
				grants.request(db, w.adminA.ctx, { ...secretRequest(w.staff.id), endDate: '2026-02-30' })
			)
		).toBe('end_date_invalid');
	});

	it('refuses an end date beyond GRANT_MAX_DAYS, at any level and for any read-in', async () => {
		const now = new Date();
		const latest = latestEndDate('Asia/Tokyo', 1826, now);
		const dayAfter = latestEndDate('Asia/Tokyo', 1827, now);
		const attempts = [
			{ ...secretRequest(w.staff.id), endDate: '9999-12-31' },
			{ ...secretRequest(w.staff.id), endDate: dayAfter },
			// Below the end-date level an end date is optional, but one given obeys the limit.
			{ ...secretRequest(w.staff.id), levelRank: 1, endDate: '9999-12-31' },
			{ ...secretRequest(w.staff.id), levelRank: 4, endDate: '2999-01-01' },
			{
				accountId: w.staff.id,
				kind: 'compartment' as const,
				compartmentId: w.md.id,
				justification: 'Sensitive read-in for ever',
				endDate: '9999-12-31'
			},
			{
				accountId: w.staff.id,
				kind: 'compartment' as const,
				compartmentId: w.sda.id,
				justification: 'Read-in for ever',
				endDate: dayAfter
			}
		];
		const grantsBefore = (await db.select().from(grant)).length;
		const requestsBefore = (await db.select().from(approvalRequest)).length;
		for (const input of attempts) {
			expect(await refusal(grants.request(db, w.adminA.ctx, input, now)), input.endDate).toBe(
				'end_date_too_far'
			);
		}
		expect(await db.select().from(grant)).toHaveLength(grantsBefore);
		expect(await db.select().from(approvalRequest)).toHaveLength(requestsBefore);

		// The last day itself is allowed, ending at the end of that day in Tokyo.
		const r = await grants.request(
			db,
			w.adminA.ctx,
			{
				accountId: w.staff.id,
				kind: 'compartment',
				compartmentId: w.sda.id,
				justification: 'Five-year programme',
				endDate: latest
			},
			now
		);
		if (r.status !== 'created') throw new Error('expected created');
		const [created] = await db.select().from(grant).where(eq(grant.id, r.grantId));
		expect(created!.validUntil).toEqual(endOfDay(latest, 'Asia/Tokyo'));
		await grants.revoke(db, w.adminB.ctx, { grantId: r.grantId, reason: 'Test done' });

		// A smaller limit moves the last day accordingly.
		grantLimit(30);
		try {
			expect(
				await refusal(
					grants.request(
						db,
						w.adminA.ctx,
						{ ...secretRequest(w.staff.id), endDate: latestEndDate('Asia/Tokyo', 31, now) },
						now
					)
				)
			).toBe('end_date_too_far');
		} finally {
			grantLimit();
		}
	});

	it('refuses approving a request that a limit lowered since it was filed no longer allows', async () => {
		const within = await grants.request(db, w.adminA.ctx, {
			...secretRequest(w.liaison.id, 'Within the new limit'),
			endDate: daysFromNow(20)
		});
		const beyond = await grants.request(db, w.adminA.ctx, {
			...secretRequest(w.liaison.id, 'Beyond the new limit'),
			endDate: daysFromNow(400)
		});
		if (within.status !== 'pending' || beyond.status !== 'pending')
			throw new Error('expected pending');
		grantLimit(90);
		try {
			expect(
				await refusal(
					approvals.approve(db, w.adminB.ctx, { requestId: beyond.requestId, comment: 'Fine' })
				)
			).toBe('request_end_date_too_far');
			const [row] = await db
				.select()
				.from(approvalRequest)
				.where(eq(approvalRequest.id, beyond.requestId));
			expect(row).toMatchObject({ status: 'pending', resultGrantId: null });
			expect(await db.select().from(grant).where(eq(grant.reason, 'Beyond the new limit'))).toEqual(
				[]
			);
			// It can be rejected, and one within the limit is approved as usual.
			await approvals.reject(db, w.adminB.ctx, {
				requestId: beyond.requestId,
				comment: 'Longer than a grant may now run'
			});
			await approvals.approve(db, w.adminB.ctx, { requestId: within.requestId, comment: 'Fine' });
			const made = await db.select().from(grant).where(eq(grant.reason, 'Within the new limit'));
			expect(made).toHaveLength(1);
			await grants.revoke(db, w.adminC.ctx, { grantId: made[0]!.id, reason: 'Test done' });
		} finally {
			grantLimit();
		}
	});

	it('counts the last end date from today in the institute time zone', () => {
		// 00:30 on 1 April in Tokyo is still 31 March at UTC.
		const now = new Date('2026-03-31T15:30:00Z');
		expect(latestEndDate('Asia/Tokyo', 1, now)).toBe('2026-04-02');
		expect(latestEndDate('Europe/London', 1, now)).toBe('2026-04-01');
		// Across a leap day: five years of 1826 days from 1 March 2027 end on 29 February 2032.
		expect(latestEndDate('Asia/Tokyo', 1826, new Date('2027-03-01T03:00:00Z'))).toBe('2032-02-29');
	});

	it('refuses a justification of 0 and of 100,000 characters', async () => {
		for (const justification of ['', '   ', 'x'.repeat(100_000)]) {
			const code = await refusal(
				grants.request(db, w.adminA.ctx, {
					accountId: w.staff.id,
					kind: 'compartment',
					compartmentId: w.sda.id,
					justification,
					endDate: null
				})
			);
			expect(code).toBe(
				justification.length > 10 ? 'justification_too_long' : 'justification_required'
			);
		}
		expect(await effectiveAccess(db, w.staff.id)).toMatchObject({ compartmentIds: [] });
	});

	it('sends read-ins to a sensitive compartment through approval', async () => {
		const r = await grants.request(db, w.adminA.ctx, {
			accountId: w.staff.id,
			kind: 'compartment',
			compartmentId: w.md.id,
			justification: 'Missile defence study',
			endDate: daysFromNow(10)
		});
		expect(r.status).toBe('pending');
		expect((await effectiveAccess(db, w.staff.id))!.compartmentIds).not.toContain(w.md.id);
	});

	it('lets no one but an active administrator act, whatever the caller', async () => {
		for (const person of [w.staff, w.liaison, w.auditor]) {
			expect(
				await refusal(
					grants.request(db, person.ctx, {
						accountId: w.adminB.id,
						kind: 'level',
						levelRank: 1,
						justification: 'x',
						endDate: null
					})
				)
			).toBe('forbidden');
		}
	});
});

describe('a grant or revocation on the very next request', () => {
	it('stops a revoked user at once, open session or not', async () => {
		const [doc] = await db
			.insert(document)
			.values({
				kind: 'memo',
				title: 'SECRET orbit memo',
				levelRank: 3,
				releaseOrgIds: [w.jiss.id],
				originatorOrgId: w.jiss.id,
				authorId: w.adminB.id,
				status: 'published'
			})
			.returning();
		// The person's browser holds a signed-in session throughout.
		const lifetimes = { idleMinutes: 30, absoluteHours: 12 };
		const { token } = await sessions.create(db, {
			accountId: w.staff.id,
			mfaVerified: true,
			lifetimes
		});
		// What the next request does: find the session's person, then compute their access now.
		const readable = async () => {
			const current = await sessions.validate(db, token, { lifetimes });
			expect(current?.user.id).toBe(w.staff.id);
			const access = await effectiveAccess(db, current!.user.id);
			const rows = await db
				.select({ id: document.id })
				.from(document)
				.where(and(eq(document.id, doc!.id), readableSql(access!)));
			const pure = canRead(access!, {
				levelRank: doc!.levelRank,
				compartmentIds: doc!.compartmentIds,
				releaseOrgIds: doc!.releaseOrgIds,
				status: doc!.status,
				authorId: doc!.authorId
			});
			expect(rows.length === 1).toBe(pure);
			return pure;
		};
		expect(await readable()).toBe(true);
		const held = await db
			.select()
			.from(grant)
			.where(and(eq(grant.accountId, w.staff.id), eq(grant.levelRank, 3)));
		for (const g of held.filter((g) => g.revokedAt === null)) {
			await grants.revoke(db, w.adminC.ctx, { grantId: g.id, reason: 'Left the programme' });
		}
		expect(await readable()).toBe(false);
		expect(
			await refusal(grants.revoke(db, w.adminB.ctx, { grantId: held[0]!.id, reason: 'again' }))
		).toBe('already_revoked');
	});

	it('stops counting an expired grant at its end time and shows it as expired', async () => {
		const r = await grants.request(db, w.adminA.ctx, {
			accountId: w.liaison.id,
			kind: 'compartment',
			compartmentId: w.sda.id,
			justification: 'Short exercise',
			endDate: daysFromNow(2)
		});
		if (r.status !== 'created') throw new Error('expected created');
		const [row] = await db.select().from(grant).where(eq(grant.id, r.grantId));
		const end = row!.validUntil!;
		const before = new Date(end.getTime() - 1);
		expect((await effectiveAccess(db, w.liaison.id, before))!.compartmentIds).toContain(w.sda.id);
		expect((await effectiveAccess(db, w.liaison.id, end))!.compartmentIds).not.toContain(w.sda.id);
		const list = await grants.listForAccount(db, w.liaison.id, end);
		expect(list.find((g) => g.id === r.grantId)!.state).toBe('expired');
	});

	it('ends a grant at the end of the chosen day in the institute time zone', () => {
		expect(endOfDay('2026-03-31', 'Asia/Tokyo').toISOString()).toBe('2026-03-31T15:00:00.000Z');
		expect(endOfDay('2026-07-01', 'Europe/London').toISOString()).toBe('2026-07-01T23:00:00.000Z');
	});

	it('ends the day when its date is over for good, where clocks change at midnight', () => {
		for (const [date, zone, end] of [
			// Clocks spring forward at midnight: there is no midnight, the day ends at 01:00.
			['2024-09-07', 'America/Santiago', '2024-09-08T04:00:00.000Z'],
			['2024-03-09', 'America/Havana', '2024-03-10T05:00:00.000Z'],
			['2024-10-05', 'America/Asuncion', '2024-10-06T04:00:00.000Z'],
			// Clocks fall back at midnight to 23:00: the day's last hour is lived twice.
			['2024-04-06', 'America/Santiago', '2024-04-07T04:00:00.000Z'],
			// Samoa skipped 30 December 2011: the 29th ended when the 31st began.
			['2011-12-29', 'Pacific/Apia', '2011-12-30T10:00:00.000Z'],
			// Changes within the night, and none at all.
			['2024-03-30', 'Europe/London', '2024-03-31T00:00:00.000Z'],
			['2024-10-26', 'Europe/London', '2024-10-26T23:00:00.000Z'],
			['2024-11-02', 'America/New_York', '2024-11-03T04:00:00.000Z'],
			['2024-12-31', 'Pacific/Kiritimati', '2024-12-31T10:00:00.000Z']
		]) {
			expect(endOfDay(date!, zone!).toISOString(), `${date} ${zone}`).toBe(end);
		}
	});

	it('ends no earlier than the date is over for good and no later than a minute after, every day of a year', () => {
		const zones = ['America/Santiago', 'America/Havana', 'Australia/Lord_Howe', 'Asia/Tokyo'];
		for (const zone of zones) {
			const dateIn = new Intl.DateTimeFormat('en-CA', { timeZone: zone, dateStyle: 'short' });
			for (let day = Date.UTC(2024, 0, 1); day < Date.UTC(2025, 0, 1); day += 86_400_000) {
				const date = new Date(day).toISOString().slice(0, 10);
				const end = endOfDay(date, zone).getTime();
				// The date is over at `end` and stays over for a day; a minute before, it was not.
				expect(dateIn.format(end - 60_000) <= date, `${date} ${zone}`).toBe(true);
				for (let t = end; t < end + 86_400_000; t += 15 * 60_000)
					expect(dateIn.format(t) > date, `${date} ${zone}`).toBe(true);
			}
		}
	});
});

describe('changes to the rule itself', () => {
	it('keeps the threshold until a second administrator approves raising it', async () => {
		const { requestId } = await settings.requestThresholdChange(db, w.adminA.ctx, {
			value: 4,
			justification: 'Fewer approvals'
		});
		expect(await settings.get(db, 'two_person_level')).toBe(3);
		expect(await refusal(approvals.approve(db, w.adminA.ctx, { requestId, comment: 'self' }))).toBe(
			'self'
		);
		expect(await settings.get(db, 'two_person_level')).toBe(3);
		await approvals.approve(db, w.adminB.ctx, { requestId, comment: 'Agreed' });
		expect(await settings.get(db, 'two_person_level')).toBe(4);
		const back = await settings.requestThresholdChange(db, w.adminB.ctx, {
			value: 3,
			justification: 'Back to the default'
		});
		await approvals.approve(db, w.adminC.ctx, { requestId: back.requestId, comment: 'ok' });
		expect(await settings.get(db, 'two_person_level')).toBe(3);
	});

	it('keeps a sensitive flag until a second administrator approves clearing it', async () => {
		const { requestId } = await reference.requestSensitiveChange(db, w.adminA.ctx, {
			compartmentId: w.md.id,
			sensitive: false,
			justification: 'No longer sensitive'
		});
		const flag = async () =>
			(await db.select().from(compartment).where(eq(compartment.id, w.md.id)))[0]!.sensitive;
		expect(await flag()).toBe(true);
		expect(await refusal(approvals.approve(db, w.adminA.ctx, { requestId, comment: 'x' }))).toBe(
			'self'
		);
		expect(await flag()).toBe(true);
		await approvals.reject(db, w.adminB.ctx, { requestId, comment: 'Still sensitive' });
		expect(await flag()).toBe(true);
	});

	it('refuses level colours that are not hex or too light for white marking text', async () => {
		expect(
			await refusal(
				reference.updateLevel(db, w.adminA.ctx, 3, { nameEn: 'S', nameJa: 'S', colour: 'red' })
			)
		).toBe('invalid_colour');
		expect(
			await refusal(
				reference.updateLevel(db, w.adminA.ctx, 3, { nameEn: 'S', nameJa: 'S', colour: '#ffff00' })
			)
		).toBe('low_contrast');
		await reference.updateLevel(db, w.adminA.ctx, 3, {
			nameEn: 'SECRET',
			nameJa: '極秘',
			colour: '#991B1B'
		});
		expect((await reference.listLevels(db)).find((l) => l.rank === 3)!.colour).toBe('#991b1b');
	});

	it('refuses a level name that another level has, as a reader would read it', async () => {
		const ladder = await reference.listLevels(db);
		const [lowest, highest] = [ladder[0]!, ladder.at(-1)!];
		const rename = (nameEn: string, nameJa: string) =>
			reference.updateLevel(db, w.adminA.ctx, highest.rank, {
				nameEn,
				nameJa,
				colour: highest.colour
			});
		// The banner of the highest level reading as the lowest's, in any language or spelling.
		for (const [en, ja] of [
			[lowest.nameEn, highest.nameJa],
			[lowest.nameEn.toLowerCase(), highest.nameJa],
			[
				` ${lowest.nameEn.replace(/./, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0))} `,
				highest.nameJa
			],
			[highest.nameEn, lowest.nameJa],
			[lowest.code, highest.nameJa]
		]) {
			expect(await refusal(rename(en!, ja!)), en).toBe('name_taken');
		}
		expect(await reference.listLevels(db)).toEqual(ladder);
		// Its own names again (or a new one) are fine.
		await rename(highest.nameEn, highest.nameJa);
	});
});
