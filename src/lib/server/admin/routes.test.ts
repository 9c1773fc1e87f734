import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Component } from 'svelte';
import { render } from 'svelte/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../../tests/helpers/database';
import { daysFromNow, seedAdminWorld, type Person } from '../../../../tests/helpers/admin';
import { newestEvent } from '../../../../tests/helpers/audit';
import * as approvalsPage from '../../../routes/(admin)/admin/approvals/+page.server';
import * as accountsPage from '../../../routes/(admin)/admin/accounts/+page.server';
import * as accountPage from '../../../routes/(admin)/admin/accounts/[id]/+page.server';
import * as newAccountPage from '../../../routes/(admin)/admin/accounts/new/+page.server';
import * as overviewPage from '../../../routes/(admin)/admin/+page.server';
import * as referencePage from '../../../routes/(admin)/admin/reference/+page.server';
import * as reviewPage from '../../../routes/(admin)/admin/review/+page.server';
import * as exportEndpoint from '../../../routes/(admin)/admin/review/export/+server';
import * as settingsPage from '../../../routes/(admin)/admin/settings/+page.server';
import AccountView from '../../../routes/(admin)/admin/accounts/[id]/+page.svelte';
import AccountsView from '../../../routes/(admin)/admin/accounts/+page.svelte';
import ApprovalsView from '../../../routes/(admin)/admin/approvals/+page.svelte';
import ReviewView from '../../../routes/(admin)/admin/review/+page.svelte';
import SettingsView from '../../../routes/(admin)/admin/settings/+page.svelte';
import { effectiveAccess } from '../access';
import * as sessions from '../auth/sessions';
import { loadConfig, setConfig } from '../config';
import { setDatabase, type Database } from '../db';
import { setMailer, type MailMessage } from '../mail';
import {
	account,
	approvalRequest,
	auditEvent,
	enrolment,
	grant,
	level,
	session
} from '../db/schema';
import { levelIdentity } from '../../components/admin/labels';
import { m } from '../../paraglide/messages';
import { getLocale, overwriteGetLocale } from '../../paraglide/runtime';
import * as accounts from './accounts';
import type { ApprovalView } from './approvals';
import { endOfDay, latestEndDate } from './context';
import * as grants from './grants';
import * as reference from './reference';

let database: TestDatabase;
let db: Database;
let w: Awaited<ReturnType<typeof seedAdminWorld>>;

beforeAll(async () => {
	database = await createTestDatabase();
	db = database.handle.db;
	setDatabase(database.handle);
	setConfig(loadConfig({ INTRANET_MODE: 'demo', DATA_DIR: 'tests/.tmp/admin-routes' }));
	w = await seedAdminWorld(db);
});
afterAll(async () => {
	setDatabase(undefined);
	await database?.drop();
});

type Fields = Record<string, string | string[]>;

/** The request a browser would send, with the session's person in locals as the hooks set it. */
function event(person: Person | null, path: string, fields?: Fields, params: object = {}) {
	const url = new URL(`http://127.0.0.1${path}`);
	let request: Request;
	if (fields) {
		const body = new FormData();
		for (const [k, v] of Object.entries(fields)) {
			for (const value of Array.isArray(v) ? v : [v]) body.append(k, value);
		}
		request = new Request(url, { method: 'POST', body });
	} else {
		request = new Request(url);
	}
	const user = person
		? { ...person.ctx.actor, roles: [...person.ctx.actor.roles] }
		: (null as unknown);
	return {
		locals: { user, session: null, requestId: 'route-test', clientIp: '127.0.0.1' },
		url,
		request,
		params,
		route: { id: path },
		cookies: { get: () => undefined }
	} as never;
}

async function outcome(run: () => unknown): Promise<{ status: number; data?: unknown }> {
	try {
		const value = (await run()) as { status?: number; data?: unknown } | undefined;
		if (value && typeof value === 'object' && 'status' in value && 'data' in value)
			return { status: value.status!, data: value.data };
		return { status: 200, data: value };
	} catch (thrown) {
		const status = (thrown as { status?: number }).status;
		if (typeof status === 'number') return { status };
		throw thrown;
	}
}

describe('only administrators reach the administration', () => {
	it('answers 404 to staff, liaison and auditor on every load, action and endpoint, and audits each', async () => {
		const pages: [string, { load?: unknown; actions?: Record<string, unknown> }, object][] = [
			['/admin', overviewPage, {}],
			['/admin/accounts', accountsPage, {}],
			['/admin/accounts/new', newAccountPage, {}],
			[`/admin/accounts/${w.staff.id}`, accountPage, { id: String(w.staff.id) }],
			['/admin/approvals', approvalsPage, {}],
			['/admin/review', reviewPage, {}],
			['/admin/reference', referencePage, {}],
			['/admin/settings', settingsPage, {}]
		];
		let attempts = 0;
		for (const person of [w.staff, w.liaison, w.auditor]) {
			for (const [path, mod, params] of pages) {
				if (typeof mod.load === 'function') {
					const load = mod.load as (e: unknown) => unknown;
					expect((await outcome(() => load(event(person, path, undefined, params)))).status).toBe(
						404
					);
					attempts++;
				}
				for (const [name, action] of Object.entries(mod.actions ?? {})) {
					const run = action as (e: unknown) => unknown;
					const fields = {
						requestId: '1',
						grantId: '1',
						comment: 'x',
						reason: 'x',
						justification: 'x'
					};
					const result = await outcome(() =>
						run(event(person, `${path}?/${name}`, fields, params))
					);
					expect(result.status, `${name} on ${path}`).toBe(404);
					attempts++;
				}
			}
			expect(
				(await outcome(() => exportEndpoint.GET(event(person, '/admin/review/export')))).status
			).toBe(404);
			attempts++;
		}
		const denied = await db
			.select()
			.from(auditEvent)
			.where(and(eq(auditEvent.action, 'admin.denied'), eq(auditEvent.outcome, 'denied')));
		expect(denied).toHaveLength(attempts);
		expect(new Set(denied.map((d) => d.actorId))).toEqual(
			new Set([w.staff.id, w.liaison.id, w.auditor.id])
		);
		expect(await db.select().from(grant)).toHaveLength(0);
		expect(await db.select().from(approvalRequest)).toHaveLength(0);
	});

	it('sends a signed-out caller to sign in, changing nothing', async () => {
		const result = await outcome(() =>
			approvalsPage.actions.approve!(
				event(null, '/admin/approvals?/approve', { requestId: '1', comment: 'x' })
			)
		);
		expect(result.status).toBe(303);
	});
});

describe('the access review export', () => {
	it('is refused, and audited, when another site started it', async () => {
		for (const site of ['cross-site', 'same-site']) {
			const started = event(w.adminA, '/admin/review/export') as { request: Request };
			started.request = new Request(started.request.url, { headers: { 'sec-fetch-site': site } });
			const refused = await outcome(() => exportEndpoint.GET(started as never));
			expect(refused.status, site).toBe(403);
			const last = await newestEvent(db, 'review.exported');
			expect(last).toMatchObject({
				actorId: w.adminA.id,
				outcome: 'denied',
				details: { reason: 'cross_site', site }
			});
		}
		const own = await outcome(() => exportEndpoint.GET(event(w.adminA, '/admin/review/export')));
		expect(own.status).toBe(200);
	});
});

describe('refusals by the administration rules', () => {
	const deniedFor = (person: Person) =>
		db
			.select()
			.from(auditEvent)
			.where(and(eq(auditEvent.action, 'admin.denied'), eq(auditEvent.actorId, person.id)));

	it('audits acting on oneself, approving one’s own request and a role lost mid-session', async () => {
		const before = (await deniedFor(w.adminA)).length;
		const own = { id: String(w.adminA.id) };
		// A grant to oneself.
		const self = await outcome(() =>
			accountPage.actions.grantLevel!(
				event(
					w.adminA,
					`/admin/accounts/${w.adminA.id}?/grantLevel`,
					{ levelRank: '1', justification: 'Myself', endDate: daysFromNow(10) },
					own
				)
			)
		);
		expect(self).toMatchObject({ status: 403, data: { code: 'self' } });
		// Approving one's own request (the two-person rule).
		const r = await grants.request(db, w.adminA.ctx, {
			accountId: w.staff.id,
			kind: 'level',
			levelRank: 4,
			justification: 'Needs it',
			endDate: daysFromNow(5)
		});
		if (r.status !== 'pending') throw new Error('expected pending');
		const approveOwn = await outcome(() =>
			approvalsPage.actions.approve!(
				event(w.adminA, '/admin/approvals?/approve', {
					requestId: String(r.requestId),
					comment: 'Fine by me'
				})
			)
		);
		expect(approveOwn).toMatchObject({ status: 403, data: { code: 'self' } });
		// The session still says administrator; the database no longer does.
		await db
			.update(account)
			.set({ roles: ['staff'] })
			.where(eq(account.id, w.adminC.id));
		try {
			const demoted = await outcome(() =>
				accountPage.actions.disable!(
					event(
						w.adminC,
						`/admin/accounts/${w.staff.id}?/disable`,
						{ reason: 'Leaving' },
						{ id: String(w.staff.id) }
					)
				)
			);
			expect(demoted.status).toBe(404);
		} finally {
			await db
				.update(account)
				.set({ roles: ['administrator'] })
				.where(eq(account.id, w.adminC.id));
		}

		const denied = (await deniedFor(w.adminA)).slice(before);
		expect(denied.map((d) => [d.outcome, (d.details as { reason: string }).reason])).toEqual([
			['denied', 'self'],
			['denied', 'self']
		]);
		expect(denied.map((d) => d.targetId)).toEqual([
			`/admin/accounts/${w.adminA.id}`,
			'/admin/approvals'
		]);
		const forbidden = await deniedFor(w.adminC);
		expect(forbidden.at(-1)!.details).toMatchObject({ reason: 'forbidden', method: 'POST' });
		expect(await db.select().from(grant)).toHaveLength(0);
		const [staffRow] = await db.select().from(account).where(eq(account.id, w.staff.id));
		expect(staffRow!.status).toBe('active');
		const [pending] = await db
			.select()
			.from(approvalRequest)
			.where(eq(approvalRequest.id, r.requestId));
		expect(pending!.status).toBe('pending');
		// The other tests count requests from none.
		await db.delete(approvalRequest).where(eq(approvalRequest.id, r.requestId));
	});

	it('does not audit a form’s own mistakes as denials', async () => {
		const before = (await deniedFor(w.adminA)).length;
		const result = await outcome(() =>
			accountPage.actions.grantCompartment!(
				event(
					w.adminA,
					`/admin/accounts/${w.staff.id}?/grantCompartment`,
					{ compartmentId: String(w.sda.id), justification: '', endDate: daysFromNow(3) },
					{ id: String(w.staff.id) }
				)
			)
		);
		expect(result.status).toBe(400);
		expect(await deniedFor(w.adminA)).toHaveLength(before);
	});
});

describe('fields the form did not offer', () => {
	const path = () => `/admin/accounts/${w.staff.id}`;
	const params = () => ({ id: String(w.staff.id) });

	it('refuses a grant form carrying approver, grantee, granter or role fields', async () => {
		const smuggledFields: Record<string, string>[] = [
			{ approvedBy: String(w.adminB.id) },
			{ accountId: String(w.adminA.id) },
			{ grantedBy: String(w.adminC.id) },
			{ roles: 'administrator' },
			{ organisationId: String(w.usa.id) }
		];
		for (const smuggled of smuggledFields) {
			const result = await outcome(() =>
				accountPage.actions.grantLevel!(
					event(
						w.adminA,
						`${path()}?/grantLevel`,
						{
							levelRank: '4',
							justification: 'Smuggled approval',
							endDate: daysFromNow(10),
							...smuggled
						},
						params()
					)
				)
			);
			expect(result.status).toBe(400);
			expect(result.data).toMatchObject({ code: 'invalid_form' });
		}
		expect(await db.select().from(grant)).toHaveLength(0);
		expect(await db.select().from(approvalRequest)).toHaveLength(0);
	});

	it('refuses a form whose session ended while it arrived, granting nothing', async () => {
		const { session } = await sessions.create(db, { accountId: w.adminA.id, mfaVerified: true });
		const form = new URLSearchParams({
			levelRank: '1',
			justification: 'Needs access',
			endDate: daysFromNow(10)
		});
		const body = new ReadableStream<Uint8Array>({
			async pull(controller) {
				// Another administrator ends this one's sessions (a stolen laptop) meanwhile.
				await sessions.endAllForAccount(db, w.adminA.id);
				controller.enqueue(new TextEncoder().encode(form.toString()));
				controller.close();
			}
		});
		const late = event(w.adminA, `${path()}?/grantLevel`, undefined, params()) as {
			locals: { session: unknown };
			request: Request;
		};
		late.locals.session = { id: session.id };
		late.request = new Request(late.request.url, {
			method: 'POST',
			body,
			headers: { 'content-type': 'application/x-www-form-urlencoded' },
			duplex: 'half'
		} as RequestInit);
		const result = await outcome(() => accountPage.actions.grantLevel!(late as never));
		expect(result.status).toBe(404);
		expect(await db.select().from(grant)).toHaveLength(0);
	});

	it('refuses a NUL or other control character in a justification, naming the field', async () => {
		for (const justification of ['Needs\u0000access', 'Needs\u001baccess']) {
			const result = await outcome(() =>
				accountPage.actions.grantLevel!(
					event(
						w.adminA,
						`${path()}?/grantLevel`,
						{ levelRank: '1', justification, endDate: daysFromNow(10) },
						params()
					)
				)
			);
			expect(result.status).toBe(400);
			expect(result.data).toMatchObject({ code: 'invalid_form', fields: ['justification'] });
		}
		expect(await db.select().from(grant)).toHaveLength(0);
	});

	it('refuses a roles form carrying a level or organisation, and a duplicated field', async () => {
		const forms: Fields[] = [
			{ roles: ['staff'], justification: '', levelRank: '4' },
			{ roles: ['staff'], justification: '', organisationId: String(w.usa.id) },
			{ roles: ['staff'], justification: ['', 'second'] }
		];
		for (const fields of forms) {
			const result = await outcome(() =>
				accountPage.actions.roles!(event(w.adminA, `${path()}?/roles`, fields, params()))
			);
			expect(result.status).toBe(400);
		}
		const [row] = await db.select().from(account).where(eq(account.id, w.staff.id));
		expect(row!.organisationId).toBe(w.jiss.id);
		expect(row!.roles).toEqual(['staff']);
	});

	it('refuses an approval form naming its own decider or result', async () => {
		const r = await grants.request(db, w.adminA.ctx, {
			accountId: w.liaison.id,
			kind: 'level',
			levelRank: 3,
			justification: 'Exercise',
			endDate: daysFromNow(5)
		});
		if (r.status !== 'pending') throw new Error('expected pending');
		const smuggledDecisions: Record<string, string>[] = [
			{ decidedBy: String(w.adminC.id) },
			{ resultGrantId: '1' }
		];
		for (const smuggled of smuggledDecisions) {
			const result = await outcome(() =>
				approvalsPage.actions.approve!(
					event(w.adminB, '/admin/approvals?/approve', {
						requestId: String(r.requestId),
						comment: 'ok',
						...smuggled
					})
				)
			);
			expect(result.status).toBe(400);
		}
		const [row] = await db
			.select()
			.from(approvalRequest)
			.where(eq(approvalRequest.id, r.requestId));
		expect(row!.status).toBe('pending');
		const ok = await outcome(() =>
			approvalsPage.actions.approve!(
				event(w.adminB, '/admin/approvals?/approve', {
					requestId: String(r.requestId),
					comment: 'Checked'
				})
			)
		);
		expect(ok).toMatchObject({ status: 200, data: { done: 'approved' } });
	});

	it('refuses justifications of 0 and 100,000 characters at the form too', async () => {
		for (const [justification, code] of [
			['', 'justification_required'],
			['x'.repeat(100_000), 'justification_too_long']
		]) {
			const result = await outcome(() =>
				accountPage.actions.grantCompartment!(
					event(
						w.adminA,
						`${path()}?/grantCompartment`,
						{ compartmentId: String(w.sda.id), justification: justification!, endDate: '' },
						params()
					)
				)
			);
			expect(result).toMatchObject({ status: 400, data: { code } });
		}
	});

	it('refuses a reference form carrying a code or sensitive flag it did not offer', async () => {
		const result = await outcome(() =>
			referencePage.actions.renameCompartment!(
				event(w.adminA, '/admin/reference?/renameCompartment', {
					id: String(w.md.id),
					nameEn: 'Missile Defence',
					nameJa: 'ミサイル防衛',
					sensitive: 'false'
				})
			)
		);
		expect(result.status).toBe(400);
	});
});

describe('reference names at the form', () => {
	it('refuses a level name hiding a character, by its own code, and a posted __proto__', async () => {
		const renamed = await outcome(() =>
			referencePage.actions.level!(
				event(w.adminA, '/admin/reference?/level', {
					rank: '2',
					nameEn: 'TOP SECRET\u200b',
					nameJa: '秘',
					colour: '#7c3aed'
				})
			)
		);
		expect(renamed).toMatchObject({ status: 400, data: { code: 'name_characters' } });
		const created = await outcome(() =>
			referencePage.actions.createOrganisation!(
				event(w.adminA, '/admin/reference?/createOrganisation', {
					code: 'ZZ',
					nameEn: 'Zed',
					nameJa: 'ゼッド',
					...JSON.parse('{"__proto__": "x"}')
				})
			)
		);
		expect(created).toMatchObject({ status: 400, data: { code: 'invalid_form' } });
		const levels = await reference.listLevels(db);
		expect(levels.find((l) => l.rank === 2)!.nameEn).toBe('CONFIDENTIAL');
		expect((await reference.listOrganisations(db)).map((o) => o.code)).not.toContain('ZZ');
	});
});

describe('what the approver sees', () => {
	it('names the subject beyond a display name, and a level by its code and rank', async () => {
		// An account that shares the staff member's display name, and a level renamed while the
		// request waits to read as a lower one.
		const [puppet] = await db
			.insert(account)
			.values({
				email: 'look-alike@elsewhere.example',
				displayName: 'staff',
				organisationId: w.usa.id,
				roles: ['staff'],
				status: 'active'
			})
			.returning();
		const r = await grants.request(db, w.adminA.ctx, {
			accountId: puppet!.id,
			kind: 'level',
			levelRank: 4,
			justification: 'Look-alike subject',
			endDate: daysFromNow(10)
		});
		if (r.status !== 'pending') throw new Error('expected pending');
		// A level named like another (written into the table: updateLevel refuses such names now,
		// but one may be older than that rule), which the approver must still tell apart.
		await db.update(level).set({ nameEn: 'SECRET.', nameJa: '極秘.' }).where(eq(level.rank, 4));
		const page = (await approvalsPage.load(event(w.adminB, '/admin/approvals'))) as {
			pending: ApprovalView[];
			levels: Awaited<ReturnType<typeof reference.listLevels>>;
		};
		const row = page.pending.find((p) => p.id === r.requestId)!;
		expect(row).toMatchObject({
			subjectAccountId: puppet!.id,
			subjectName: 'staff',
			subjectEmail: 'look-alike@elsewhere.example',
			subjectOrganisationCode: 'USA'
		});
		expect(levelIdentity(page.levels, Number(row.payload.levelRank))).toBe(
			'SECRET. (code TOP SECRET, rank 4)'
		);
		const locale = getLocale;
		overwriteGetLocale(() => 'ja');
		try {
			expect(levelIdentity(page.levels, 4)).toBe('極秘.（コード TOP SECRET、ランク 4）');
		} finally {
			overwriteGetLocale(locale);
		}
		await db.update(level).set({ nameEn: 'TOP SECRET', nameJa: '機密' }).where(eq(level.rank, 4));
	});
});

/**
 * Dates an administrator's events of `action` about `subject` back past the 15-minute pause, past
 * the log's append-only guard, as only the database's superuser could.
 */
async function datePauseBack(action: string, actor: Person, subject: Person) {
	await db.transaction(async (tx) => {
		await tx.execute(sql`set local session_replication_role = replica`);
		await tx
			.update(auditEvent)
			.set({ occurredAt: sql`${auditEvent.occurredAt} - interval '16 minutes'` })
			.where(
				and(
					eq(auditEvent.action, action),
					eq(auditEvent.actorId, actor.id),
					eq(auditEvent.targetId, String(subject.id))
				)
			);
	});
}

/** A page as the server renders it, from the data its load returned. */
function html(view: unknown, data: unknown): string {
	return render(view as Component<{ data: unknown; form: null }>, {
		props: { data, form: null },
		// What `$app/state` reads while the server renders a page.
		context: new Map([['__request__', { page: { data: { timeZone: 'Asia/Tokyo' } } }]])
	}).body;
}

const occurrences = (text: string, part: string) => text.split(part).length - 1;

describe('a level wherever an administrator chooses or reads one', () => {
	it('is named with its code and rank, in English and Japanese', async () => {
		// CONFIDENTIAL named to read as the level below it (written into the table: updateLevel
		// refuses such names now, but one may be older than that rule); the staff member holds it.
		await db
			.update(level)
			.set({ nameEn: 'RESTRICTED.', nameJa: '取扱注意.' })
			.where(eq(level.rank, 2));
		const r = await grants.request(db, w.adminA.ctx, {
			accountId: w.staff.id,
			kind: 'level',
			levelRank: 2,
			justification: 'Named on every screen',
			endDate: null
		});
		if (r.status !== 'created') throw new Error('expected created');
		const locale = getLocale;
		try {
			const params = { id: String(w.staff.id) };
			const pages = async () => ({
				account: html(
					AccountView,
					await accountPage.load(
						event(w.adminA, `/admin/accounts/${w.staff.id}`, undefined, params)
					)
				),
				settings: html(SettingsView, await settingsPage.load(event(w.adminA, '/admin/settings'))),
				accounts: html(
					AccountsView,
					await accountsPage.load(event(w.adminA, '/admin/accounts?q=staff%40test'))
				),
				review: html(ReviewView, await reviewPage.load(event(w.adminA, '/admin/review')))
			});
			const en = await pages();
			const renamed = 'RESTRICTED. (code CONFIDENTIAL, rank 2)';
			// The effective level, the grant's row and the grant form's choice.
			expect(occurrences(en.account, renamed)).toBe(3);
			expect(en.account).toMatch(
				/<option value="2"[^>]*>RESTRICTED\. \(code CONFIDENTIAL, rank 2\)<\/option>/
			);
			expect(en.account).toContain(
				m.admin_grant_rules({
					threshold: 'SECRET (code SECRET, rank 3)',
					endDate: 'SECRET (code SECRET, rank 3)'
				})
			);
			// The threshold's and the end-date level's choices, and their current values.
			expect(occurrences(en.settings, renamed)).toBe(2);
			expect(en.settings).toContain(
				m.admin_threshold_current({ level: 'SECRET (code SECRET, rank 3)' })
			);
			expect(en.accounts).toContain(renamed);
			expect(en.review).toContain(renamed);

			overwriteGetLocale(() => 'ja');
			const ja = await pages();
			const renamedJa = '取扱注意.（コード CONFIDENTIAL、ランク 2）';
			expect(occurrences(ja.account, renamedJa)).toBe(3);
			expect(occurrences(ja.settings, renamedJa)).toBe(2);
			expect(ja.accounts).toContain(renamedJa);
			expect(ja.review).toContain(renamedJa);
		} finally {
			overwriteGetLocale(locale);
			await grants.revoke(db, w.adminA.ctx, { grantId: r.grantId, reason: 'Test done' });
			await db.update(level).set({ nameEn: 'CONFIDENTIAL', nameJa: '秘' }).where(eq(level.rank, 2));
		}
	});
});

describe('the longest a grant may run', () => {
	const path = () => `/admin/accounts/${w.liaison.id}`;
	const params = () => ({ id: String(w.liaison.id) });

	it('is the date fields’ maximum, and said beside them, in both languages', async () => {
		const latest = latestEndDate('Asia/Tokyo', 1826);
		const data = await accountPage.load(event(w.adminA, path(), undefined, params()));
		const locale = getLocale;
		try {
			for (const lang of ['en', 'ja'] as const) {
				overwriteGetLocale(() => lang);
				const page = html(AccountView, data);
				expect(occurrences(page, `max="${latest}"`), lang).toBe(2);
				expect(occurrences(page, m.admin_end_date_limit({ days: 1826, date: latest })), lang).toBe(
					2
				);
				const settings = html(
					SettingsView,
					await settingsPage.load(event(w.adminA, '/admin/settings'))
				);
				expect(settings).toContain(m.admin_grant_max_days({ days: 1826 }));
			}
		} finally {
			overwriteGetLocale(locale);
		}
	});

	it('refuses a later end date or a smuggled one, posted as each role', async () => {
		const latest = latestEndDate('Asia/Tokyo', 1826);
		const dayAfter = latestEndDate('Asia/Tokyo', 1827);
		const later = 'grant beyond the longest allowed';
		const forms: ['grantLevel' | 'grantCompartment', Fields, string][] = [
			[
				'grantLevel',
				{ levelRank: '2', justification: later, endDate: '9999-12-31' },
				'end_date_too_far'
			],
			[
				'grantLevel',
				{ levelRank: '4', justification: later, endDate: dayAfter },
				'end_date_too_far'
			],
			[
				'grantLevel',
				{ levelRank: '2', justification: later, endDate: '', validUntil: '9999-12-31T23:59:59Z' },
				'invalid_form'
			],
			[
				'grantLevel',
				{ levelRank: '4', justification: later, endDate: latest, validUntil: '9999-12-31' },
				'invalid_form'
			],
			['grantLevel', { levelRank: '5', justification: later, endDate: latest }, 'invalid_value'],
			['grantLevel', { levelRank: '101', justification: later, endDate: latest }, 'invalid_form'],
			[
				'grantCompartment',
				{ compartmentId: String(w.md.id), justification: later, endDate: '9999-12-31' },
				'end_date_too_far'
			],
			[
				'grantCompartment',
				{ compartmentId: String(w.sda.id), justification: later, endDate: dayAfter },
				'end_date_too_far'
			],
			[
				'grantCompartment',
				{
					compartmentId: String(w.sda.id),
					justification: later,
					endDate: '',
					validUntil: '9999-12-31'
				},
				'invalid_form'
			]
		];
		for (const person of [w.staff, w.liaison, w.auditor, w.adminA]) {
			for (const [name, fields, code] of forms) {
				const result = await outcome(() =>
					accountPage.actions[name]!(event(person, `${path()}?/${name}`, fields, params()))
				);
				if (person === w.adminA)
					expect(result, `${name} ${JSON.stringify(fields)}`).toMatchObject({
						status: 400,
						data: { code }
					});
				else expect(result.status, `${name} as ${person.ctx.actor.email}`).toBe(404);
			}
		}
		expect(await db.select().from(grant).where(eq(grant.reason, later))).toEqual([]);
		expect(
			await db.select().from(approvalRequest).where(eq(approvalRequest.justification, later))
		).toEqual([]);

		// The last day itself is granted, ending at the end of that day in Tokyo.
		const ok = await outcome(() =>
			accountPage.actions.grantCompartment!(
				event(
					w.adminA,
					`${path()}?/grantCompartment`,
					{
						compartmentId: String(w.sda.id),
						justification: 'Five-year programme',
						endDate: latest
					},
					params()
				)
			)
		);
		expect(ok).toMatchObject({ status: 200, data: { done: 'created' } });
		const [made] = await db.select().from(grant).where(eq(grant.reason, 'Five-year programme'));
		expect(made!.validUntil).toEqual(endOfDay(latest, 'Asia/Tokyo'));
		await grants.revoke(db, w.adminA.ctx, { grantId: made!.id, reason: 'Test done' });
	});
});

describe('disabling an administrator or auditor', () => {
	it('waits for a second administrator, posted as each role', async () => {
		const statusOf = async (id: number) =>
			(await db.select().from(account).where(eq(account.id, id)))[0]!.status;
		const filed: number[] = [];
		for (const subject of [w.adminB, w.auditor]) {
			const path = `/admin/accounts/${subject.id}`;
			const params = { id: String(subject.id) };
			const disable = (person: Person, fields: Fields) =>
				outcome(() =>
					accountPage.actions.disable!(event(person, `${path}?/disable`, fields, params))
				);
			for (const person of [w.staff, w.liaison, w.auditor]) {
				expect((await disable(person, { reason: 'Rogue' })).status).toBe(404);
			}
			const smuggledFields: Record<string, string>[] = [
				{ status: 'disabled' },
				{ approvedBy: String(w.adminC.id) },
				{ requestId: '1' }
			];
			for (const smuggled of smuggledFields) {
				expect(await disable(w.adminA, { reason: 'Rogue', ...smuggled })).toMatchObject({
					status: 400,
					data: { code: 'invalid_form' }
				});
			}
			expect(await disable(w.adminA, { reason: 'Rogue' })).toMatchObject({
				status: 200,
				data: { done: 'pending' }
			});
			expect(await disable(w.adminC, { reason: 'Rogue' })).toMatchObject({
				status: 409,
				data: { code: 'already_requested' }
			});
			expect(await statusOf(subject.id)).toBe('active');
			const [request] = await db
				.select()
				.from(approvalRequest)
				.where(
					and(
						eq(approvalRequest.subjectAccountId, subject.id),
						eq(approvalRequest.kind, 'account_disable'),
						eq(approvalRequest.status, 'pending')
					)
				);
			filed.push(request!.id);
		}
		const [aboutAdmin, aboutAuditor] = filed as [number, number];

		// The approver reads what would happen, and the person concerned cannot approve it.
		const approvals = html(
			ApprovalsView,
			await approvalsPage.load(event(w.adminC, '/admin/approvals'))
		);
		expect(approvals).toContain(m.admin_describe_disable({ roles: m.admin_role_administrator() }));
		expect(approvals).toContain(m.admin_describe_disable({ roles: m.admin_role_auditor() }));
		const decide = (person: Person, action: 'approve' | 'reject', requestId: number) =>
			outcome(() =>
				approvalsPage.actions[action]!(
					event(person, `/admin/approvals?/${action}`, {
						requestId: String(requestId),
						comment: 'Decided'
					})
				)
			);
		expect(await decide(w.adminB, 'approve', aboutAdmin)).toMatchObject({
			status: 403,
			data: { code: 'self' }
		});
		expect(await decide(w.adminA, 'approve', aboutAdmin)).toMatchObject({
			status: 403,
			data: { code: 'self' }
		});
		expect(await statusOf(w.adminB.id)).toBe('active');
		expect(await decide(w.adminC, 'approve', aboutAdmin)).toMatchObject({
			status: 200,
			data: { done: 'approved' }
		});
		expect(await statusOf(w.adminB.id)).toBe('disabled');
		expect(await decide(w.adminC, 'reject', aboutAuditor)).toMatchObject({
			status: 200,
			data: { done: 'rejected' }
		});
		expect(await statusOf(w.auditor.id)).toBe('active');
		await db
			.update(account)
			.set({ status: 'active', disabledAt: null })
			.where(eq(account.id, w.adminB.id));
	});
	it('ends a privileged account’s sessions once in 15 minutes per administrator, posted as each role', async () => {
		const live = async (id: number) =>
			(await db.select().from(session).where(eq(session.accountId, id))).length;
		const endSessions = (person: Person, subject: Person, fields: Fields) =>
			outcome(() =>
				accountPage.actions.endSessions!(
					event(person, `/admin/accounts/${subject.id}?/endSessions`, fields, {
						id: String(subject.id)
					})
				)
			);
		await sessions.create(db, { accountId: w.auditor.id, mfaVerified: true });
		for (const person of [w.staff, w.liaison, w.auditor]) {
			expect((await endSessions(person, w.auditor, { reason: 'Rogue' })).status).toBe(404);
		}
		expect(
			await endSessions(w.adminA, w.auditor, { reason: 'Rogue', pauseMinutes: '0' })
		).toMatchObject({ status: 400, data: { code: 'invalid_form' } });
		expect(await live(w.auditor.id)).toBe(1);

		expect(await endSessions(w.adminA, w.auditor, { reason: 'Suspicious' })).toMatchObject({
			status: 200,
			data: { done: 'sessions_ended' }
		});
		expect(await live(w.auditor.id)).toBe(0);
		// The auditor signs in again: the same administrator cannot end it again at once.
		await sessions.create(db, { accountId: w.auditor.id, mfaVerified: true });
		expect(await endSessions(w.adminA, w.auditor, { reason: 'Again' })).toMatchObject({
			status: 429,
			data: { code: 'sessions_recently_ended' }
		});
		expect(await live(w.auditor.id)).toBe(1);
		expect(await newestEvent(db, 'admin.denied')).toMatchObject({
			actorId: w.adminA.id,
			details: { reason: 'sessions_recently_ended' }
		});
		// Another administrator has a pause of their own; staff accounts have none.
		expect(await endSessions(w.adminC, w.auditor, { reason: 'Confirmed' })).toMatchObject({
			status: 200,
			data: { done: 'sessions_ended' }
		});
		for (let i = 0; i < 2; i++) {
			expect(await endSessions(w.adminA, w.staff, { reason: 'Lost laptop' })).toMatchObject({
				status: 200,
				data: { done: 'sessions_ended' }
			});
		}
		// Once the pause has passed (the event dated back, as only a superuser could), again.
		await datePauseBack('account.sessions_ended', w.adminA, w.auditor);
		await sessions.create(db, { accountId: w.auditor.id, mfaVerified: true });
		expect(await endSessions(w.adminA, w.auditor, { reason: 'Later' })).toMatchObject({
			status: 200,
			data: { done: 'sessions_ended' }
		});
		expect(await live(w.auditor.id)).toBe(0);
		expect(m.admin_error_sessions_recently_ended()).toContain(
			String(accounts.PRIVILEGED_SESSIONS_PAUSE_MINUTES)
		);
	});

	it('sends a link to an administrator’s or auditor’s account once in 15 minutes per administrator, never to oneself', async () => {
		const outbox: MailMessage[] = [];
		setMailer({ send: async (message) => void outbox.push(message) });
		// Links are made from the public address.
		setConfig(
			loadConfig({
				INTRANET_MODE: 'demo',
				DATA_DIR: 'tests/.tmp/admin-routes',
				ORIGIN: 'http://127.0.0.1:3000'
			})
		);
		const links = async (id: number) =>
			(
				await db
					.select({ id: enrolment.id })
					.from(enrolment)
					.where(and(eq(enrolment.accountId, id), isNull(enrolment.usedAt)))
			).map((r) => r.id);
		const sendLink = (person: Person, subject: Person, fields: Fields = {}) =>
			outcome(() =>
				accountPage.actions.sendLink!(
					event(person, `/admin/accounts/${subject.id}?/sendLink`, fields, {
						id: String(subject.id)
					})
				)
			);
		try {
			for (const person of [w.staff, w.liaison, w.auditor]) {
				expect((await sendLink(person, w.auditor)).status).toBe(404);
			}
			expect(await sendLink(w.adminA, w.auditor, { purpose: 'enrol' })).toMatchObject({
				status: 400,
				data: { code: 'invalid_form' }
			});
			expect(await sendLink(w.adminA, w.adminA)).toMatchObject({
				status: 403,
				data: { code: 'self' }
			});
			expect(await links(w.adminA.id)).toEqual([]);

			expect(await sendLink(w.adminA, w.auditor)).toMatchObject({
				status: 200,
				data: { done: 'link_sent' }
			});
			const first = await links(w.auditor.id);
			expect(first).toHaveLength(1);
			// Again at once: refused, audited, and the link the auditor holds still works.
			expect(await sendLink(w.adminA, w.auditor)).toMatchObject({
				status: 429,
				data: { code: 'link_recently_sent' }
			});
			expect(await links(w.auditor.id)).toEqual(first);
			expect(await newestEvent(db, 'admin.denied')).toMatchObject({
				actorId: w.adminA.id,
				details: { reason: 'link_recently_sent' }
			});
			// Another administrator has a turn of their own; staff accounts have no pause.
			expect(await sendLink(w.adminC, w.auditor)).toMatchObject({ status: 200 });
			expect(await links(w.auditor.id)).not.toEqual(first);
			for (let i = 0; i < 2; i++) {
				expect(await sendLink(w.adminA, w.staff)).toMatchObject({ status: 200 });
			}
			expect(outbox.map((m) => m.to)).toEqual([
				'auditor@test.example',
				'auditor@test.example',
				'staff@test.example',
				'staff@test.example'
			]);
			// The mail says what happened: a link was sent, nothing has been reset yet.
			expect(outbox[0]!.text).toContain('An administrator has sent you a link');
			expect(outbox[0]!.text).not.toContain('reset your sign-in');
			// Once the pause has passed (the event dated back, as only a superuser could), again.
			await datePauseBack('auth.enrolment_sent', w.adminA, w.auditor);
			expect(await sendLink(w.adminA, w.auditor)).toMatchObject({ status: 200 });
			expect(m.admin_error_link_recently_sent()).toContain(
				String(accounts.PRIVILEGED_SESSIONS_PAUSE_MINUTES)
			);
		} finally {
			setMailer(undefined);
			setConfig(loadConfig({ INTRANET_MODE: 'demo', DATA_DIR: 'tests/.tmp/admin-routes' }));
		}
	});

	it('waits for a second administrator to enable an account that holds TOP SECRET or a sensitive read-in, posted as each role', async () => {
		const statusOf = async (id: number) =>
			(await db.select().from(account).where(eq(account.id, id)))[0]!.status;
		const decide = (person: Person, requestId: number) =>
			outcome(() =>
				approvalsPage.actions.approve!(
					event(person, '/admin/approvals?/approve', {
						requestId: String(requestId),
						comment: 'Decided'
					})
				)
			);
		// The staff member holds TOP SECRET and MD, each approved by a second administrator.
		const given: number[] = [];
		for (const input of [
			{ kind: 'level' as const, levelRank: 4 },
			{ kind: 'compartment' as const, compartmentId: w.md.id }
		]) {
			const filed = await grants.request(db, w.adminA.ctx, {
				accountId: w.staff.id,
				justification: 'Programme lead',
				endDate: daysFromNow(30),
				...input
			});
			if (filed.status !== 'pending') throw new Error('expected a request');
			expect(await decide(w.adminB, filed.requestId)).toMatchObject({ status: 200 });
			const [row] = await db
				.select()
				.from(approvalRequest)
				.where(eq(approvalRequest.id, filed.requestId));
			given.push(row!.resultGrantId!);
		}
		expect(await effectiveAccess(db, w.staff.id)).toMatchObject({
			level: 4,
			compartmentIds: [w.md.id]
		});
		// Disabled for cause by one administrator.
		const path = `/admin/accounts/${w.staff.id}`;
		const params = { id: String(w.staff.id) };
		const post = (person: Person, action: 'disable' | 'enable', fields: Fields) =>
			outcome(() =>
				accountPage.actions[action]!(event(person, `${path}?/${action}`, fields, params))
			);
		expect(await post(w.adminA, 'disable', { reason: 'Suspected leak' })).toMatchObject({
			status: 200,
			data: { done: 'disabled' }
		});
		for (const person of [w.staff, w.liaison, w.auditor]) {
			expect((await post(person, 'enable', { reason: 'Back' })).status).toBe(404);
		}
		expect(await post(w.adminB, 'enable', { reason: 'Back', status: 'active' })).toMatchObject({
			status: 400,
			data: { code: 'invalid_form' }
		});
		// Another administrator alone cannot bring that access back: the enabling waits.
		expect(await post(w.adminB, 'enable', { reason: 'Cleared' })).toMatchObject({
			status: 200,
			data: { done: 'pending' }
		});
		expect(await statusOf(w.staff.id)).toBe('disabled');
		const [request] = await db
			.select()
			.from(approvalRequest)
			.where(
				and(
					eq(approvalRequest.subjectAccountId, w.staff.id),
					eq(approvalRequest.kind, 'account_enable'),
					eq(approvalRequest.status, 'pending')
				)
			);
		expect(request!.payload).toMatchObject({
			roles: ['staff'],
			grants: [
				{ grantId: given[0], kind: 'level', levelRank: 4 },
				{ grantId: given[1], kind: 'compartment', compartmentCode: 'MD' }
			]
		});
		// The approver reads what comes back, by level code and rank and compartment code.
		const page = html(ApprovalsView, await approvalsPage.load(event(w.adminC, '/admin/approvals')));
		const levels = await reference.listLevels(db);
		expect(page).toContain(levelIdentity(levels, 4));
		expect(page).toContain('MD');
		expect(await decide(w.adminB, request!.id)).toMatchObject({
			status: 403,
			data: { code: 'self' }
		});
		expect(await statusOf(w.staff.id)).toBe('disabled');
		expect(await decide(w.adminC, request!.id)).toMatchObject({
			status: 200,
			data: { done: 'approved' }
		});
		expect(await statusOf(w.staff.id)).toBe('active');
		expect(await effectiveAccess(db, w.staff.id)).toMatchObject({ level: 4 });

		// Without such grants (revoked), enabling is one administrator's again.
		for (const grantId of given) {
			await grants.revoke(db, w.adminA.ctx, { grantId, reason: 'Programme ended' });
		}
		expect(await post(w.adminA, 'disable', { reason: 'Leave' })).toMatchObject({ status: 200 });
		expect(await post(w.adminB, 'enable', { reason: 'Back' })).toMatchObject({
			status: 200,
			data: { done: 'enabled' }
		});
		expect(await statusOf(w.staff.id)).toBe('active');
	});
});
