import { and, asc, eq, ilike, or, sql, type SQL } from 'drizzle-orm';
import { effectiveAccess } from '../access';
import * as audit from '../audit';
import * as enrolment from '../auth/enrolment';
import * as sessions from '../auth/sessions';
import { SECOND_FACTOR_LOCKOUT } from '../auth/sign-in';
import { queryRows, sqlStateOf, UNIQUE_VIOLATION, type Database, type Executor } from '../db';
import { account, auditEvent, organisation, type AccountStatus, type Role } from '../db/schema';
import * as approvals from './approvals';
import {
	AdminError,
	accountSnapshot,
	assertAdministrator,
	requireText,
	type AdminContext
} from './context';
import * as grants from './grants';
import {
	PRIVILEGED_ROLES,
	applyDisable,
	applyEnable,
	applyRoles,
	deliver,
	assertNotLastAdministrator,
	assertSeparation,
	lockAccount,
	rolesAfter
} from './roles';

export const PAGE_SIZE = 25;

export interface ListQuery {
	q?: string;
	status?: AccountStatus;
	page?: number;
}

export interface AccountRow {
	id: number;
	displayName: string;
	email: string;
	organisationCode: string;
	roles: Role[];
	status: AccountStatus;
	level: number;
	compartments: string[];
	lastSignInAt: Date | null;
}

function likePattern(q: string): string {
	return `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * Lists accounts with their effective level and compartments, computed in SQL from the grants
 * valid now (the same condition the access rule uses).
 */
export async function list(
	executor: Executor,
	query: ListQuery,
	now: Date = new Date()
): Promise<{ rows: AccountRow[]; total: number; page: number; pages: number }> {
	const at = now.toISOString();
	const valid = sql`g.revoked_at is null and g.valid_from <= ${at}::timestamptz
		and (g.valid_until is null or g.valid_until > ${at}::timestamptz)`;
	const conditions: SQL[] = [];
	const q = query.q?.trim();
	if (q) {
		const pattern = likePattern(q);
		conditions.push(
			or(
				ilike(account.displayName, pattern),
				ilike(account.email, pattern),
				ilike(organisation.code, pattern),
				ilike(organisation.nameEn, pattern),
				ilike(organisation.nameJa, pattern)
			)!
		);
	}
	if (query.status) conditions.push(eq(account.status, query.status));
	const where = conditions.length > 0 ? and(...conditions) : undefined;

	const [count] = await executor
		.select({ n: sql<number>`count(*)::int` })
		.from(account)
		.innerJoin(organisation, eq(organisation.id, account.organisationId))
		.where(where);
	const total = Number(count?.n ?? 0);
	const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
	const page = Math.min(Math.max(1, query.page ?? 1), pages);
	const rows = await executor
		.select({
			id: account.id,
			displayName: account.displayName,
			email: account.email,
			organisationCode: organisation.code,
			roles: account.roles,
			status: account.status,
			level: sql<number>`coalesce((select max(g.level_rank) from "grant" g
				where g.account_id = ${account.id} and g.kind = 'level' and ${valid}), 0)::int`,
			compartments: sql<string[]>`coalesce((select array_agg(c.code order by c.code)
				from "grant" g join compartment c on c.id = g.compartment_id
				where g.account_id = ${account.id} and g.kind = 'compartment' and ${valid}), '{}')`,
			lastSignInAt: account.lastSignInAt
		})
		.from(account)
		.innerJoin(organisation, eq(organisation.id, account.organisationId))
		.where(where)
		.orderBy(asc(account.displayName), asc(account.id))
		.limit(PAGE_SIZE)
		.offset((page - 1) * PAGE_SIZE);
	return {
		rows: rows.map((r) => ({ ...r, level: Number(r.level), compartments: r.compartments ?? [] })),
		total,
		page,
		pages
	};
}

/** One account with what it holds now, all its grants and its pending requests. */
export async function get(executor: Executor, id: number, now: Date = new Date()) {
	const [row] = await executor
		.select({
			id: account.id,
			displayName: account.displayName,
			email: account.email,
			organisationId: account.organisationId,
			organisationCode: organisation.code,
			roles: account.roles,
			status: account.status,
			createdAt: account.createdAt,
			lastSignInAt: account.lastSignInAt,
			disabledAt: account.disabledAt,
			lockedOut: sql<boolean>`${account.secondFactorFailures} >= ${SECOND_FACTOR_LOCKOUT}`
		})
		.from(account)
		.innerJoin(organisation, eq(organisation.id, account.organisationId))
		.where(eq(account.id, id));
	if (!row) return null;
	return {
		account: row,
		secondFactorLockout: SECOND_FACTOR_LOCKOUT,
		access: await effectiveAccess(executor, id, now),
		grants: await grants.listForAccount(executor, id, now),
		pending: await approvals.listForSubject(executor, id)
	};
}

export interface CreateInput {
	displayName: string;
	email: string;
	organisationId: number;
	roles: Role[];
	justification?: string;
}

/**
 * Creates a pending account and mails its enrolment link. The staff and liaison roles are
 * given at once; administrator or auditor waits for a second administrator.
 */
export async function create(
	db: Database,
	ctx: AdminContext,
	input: CreateInput
): Promise<{ accountId: number; requestId: number | null }> {
	const roles = [...new Set(input.roles)].sort();
	assertSeparation(roles);
	const direct = roles.filter((r) => !PRIVILEGED_ROLES.includes(r));
	const privileged = roles.filter((r) => PRIVILEGED_ROLES.includes(r));
	const justification =
		privileged.length > 0 ? requireText(input.justification) : (input.justification ?? '').trim();
	const email = input.email.trim().toLowerCase();
	let created: { accountId: number; requestId: number | null; send: () => Promise<void> };
	try {
		created = await db.transaction(async (tx) => {
			await assertAdministrator(tx, ctx);
			const [org] = await tx
				.select({ id: organisation.id })
				.from(organisation)
				.where(eq(organisation.id, input.organisationId));
			if (!org) throw new AdminError('invalid_value');
			const [created] = await tx
				.insert(account)
				.values({
					email,
					displayName: input.displayName.trim(),
					organisationId: org.id,
					roles: direct,
					status: 'pending',
					createdBy: ctx.actor.id
				})
				.returning();
			await audit.append(tx, {
				...ctx.audit,
				action: 'account.created',
				outcome: 'allowed',
				target: { type: 'account', id: created!.id },
				details: { before: null, after: accountSnapshot(created!) }
			});
			const requestId =
				privileged.length > 0
					? await approvals.file(tx, ctx, {
							kind: 'role_change',
							subjectAccountId: created!.id,
							payload: { add: privileged, remove: [] },
							justification
						})
					: null;
			const issued = await enrolment.issue(tx, {
				accountId: created!.id,
				purpose: 'enrol',
				requestedBy: ctx.actor.id,
				context: ctx.audit
			});
			return { accountId: created!.id, requestId, send: issued.send };
		});
	} catch (error) {
		if (sqlStateOf(error) === UNIQUE_VIOLATION) throw new AdminError('email_taken', 409);
		throw error;
	}
	// Mail cannot be taken back, so it leaves only after the commit.
	await deliver(created.send, created.accountId);
	return { accountId: created.accountId, requestId: created.requestId };
}

type LockedAccount = Awaited<ReturnType<typeof lockAccount>>;

/**
 * The frame of every action on another person's account: nobody acts on their own account,
 * and in one transaction the actor is still an administrator and the account's row is locked
 * (so two administrators acting at once see each other's result).
 */
function onOtherAccount<T>(
	db: Database,
	ctx: AdminContext,
	accountId: number,
	work: (tx: Executor, locked: LockedAccount) => Promise<T>
): Promise<T> {
	if (accountId === ctx.actor.id) return Promise.reject(new AdminError('self', 403));
	return db.transaction(async (tx) => {
		await assertAdministrator(tx, ctx);
		return work(tx, await lockAccount(tx, accountId));
	});
}

/**
 * Disables an account and ends every session it has, in the same transaction. An account
 * holding the administrator or auditor role waits for a second administrator: the approvers
 * and the oversight are those roles, and bringing them back takes two people, so one
 * administrator alone could otherwise disable every other approver and auditor for good.
 * Ending the sessions (`endSessions`) still works at once meanwhile.
 */
export async function disable(
	db: Database,
	ctx: AdminContext,
	input: { accountId: number; reason: string }
): Promise<{ status: 'applied' } | { status: 'pending'; requestId: number }> {
	const reason = requireText(input.reason);
	return onOtherAccount(db, ctx, input.accountId, async (tx, before) => {
		if (before.status === 'disabled') throw new AdminError('no_change', 409);
		if (before.status === 'active' && before.roles.includes('administrator'))
			await assertNotLastAdministrator(tx, before.id);
		if (before.roles.some((r) => PRIVILEGED_ROLES.includes(r))) {
			if (await approvals.hasPendingFor(tx, before.id, ['account_disable']))
				throw new AdminError('already_requested', 409);
			const requestId = await approvals.file(tx, ctx, {
				kind: 'account_disable',
				subjectAccountId: before.id,
				payload: { roles: before.roles, status: before.status },
				justification: reason
			});
			return { status: 'pending' as const, requestId };
		}
		await applyDisable(tx, ctx, before.id, reason, null);
		return { status: 'applied' as const };
	});
}

/**
 * How long one administrator waits before ending the sessions of (or sending a link to) the same
 * administrator's or auditor's account again. Ending them takes one administrator and no
 * approval (a compromised account is stopped at once), so without a pause a rogue administrator
 * could end, every few seconds, the sessions of the administrators who would approve disabling
 * them, and keep them from ever approving it. Each administrator has their own pause; a
 * signed-in approver now has this long to act.
 */
export const PRIVILEGED_SESSIONS_PAUSE_MINUTES = 15;

/**
 * Ends every session of an account (a lost laptop, a suspicion) without disabling it: the person
 * signs in again. Nobody uses this on themselves; their own account page ends their sessions.
 * The same administrator ends an administrator's or auditor's sessions at most once in
 * `PRIVILEGED_SESSIONS_PAUSE_MINUTES` (the audit log, read under the account's lock, says when
 * they last did).
 */
export async function endSessions(
	db: Database,
	ctx: AdminContext,
	input: { accountId: number; reason: string }
): Promise<number> {
	const reason = requireText(input.reason);
	return onOtherAccount(db, ctx, input.accountId, async (tx, target) => {
		if (
			target.roles.some((r) => PRIVILEGED_ROLES.includes(r)) &&
			(await actedLately(tx, ctx.actor.id, target.id, 'account.sessions_ended'))
		)
			throw new AdminError('sessions_recently_ended', 429);
		const sessionsEnded = await sessions.endAllForAccount(tx, target.id);
		await audit.append(tx, {
			...ctx.audit,
			action: 'account.sessions_ended',
			outcome: 'allowed',
			target: { type: 'account', id: target.id },
			details: { reason, sessionsEnded }
		});
		return sessionsEnded;
	});
}

/** Whether `actorId` took `action` on `accountId` within the pause (the audit log says). */
async function actedLately(
	tx: Executor,
	actorId: number,
	accountId: number,
	action: 'account.sessions_ended' | 'auth.enrolment_sent'
): Promise<boolean> {
	const rows = await queryRows<{ one: number }>(
		tx,
		sql`select 1 as one from ${auditEvent}
			where ${auditEvent.targetType} = 'account' and ${auditEvent.targetId} = ${String(accountId)}
				and ${auditEvent.action} = ${action} and ${auditEvent.actorId} = ${actorId}
				and ${auditEvent.occurredAt} > clock_timestamp() - make_interval(mins => ${PRIVILEGED_SESSIONS_PAUSE_MINUTES})
			limit 1`
	);
	return rows.length > 0;
}

/**
 * Re-enables an account: active again if it had enrolled, otherwise back to pending. An account
 * locked out by wrong codes comes back pending, its credentials cleared, with a reset link
 * (`applyEnable`). An account holding the administrator or auditor role brings that role back
 * with it, and one holding a grant that took two administrators (`grants.twoPersonGrants`)
 * brings that access back: either waits for a second administrator, as giving it would.
 */
export async function enable(
	db: Database,
	ctx: AdminContext,
	input: { accountId: number; reason: string }
): Promise<{ status: 'applied' } | { status: 'pending'; requestId: number }> {
	const reason = requireText(input.reason);
	const outcome = await onOtherAccount(db, ctx, input.accountId, async (tx, before) => {
		if (before.status !== 'disabled') throw new AdminError('account_not_disabled', 409);
		// Its grants come back with it: one that took two administrators takes two again, or one
		// administrator could undo a colleague's disabling of a TOP SECRET reader on their own.
		const weighty = await grants.twoPersonGrants(tx, before.id);
		if (before.roles.some((r) => PRIVILEGED_ROLES.includes(r)) || weighty.length > 0) {
			if (await approvals.hasPendingFor(tx, before.id, ['account_enable']))
				throw new AdminError('already_requested', 409);
			const requestId = await approvals.file(tx, ctx, {
				kind: 'account_enable',
				subjectAccountId: before.id,
				payload: { roles: before.roles, grants: weighty },
				justification: reason
			});
			return { status: 'pending' as const, requestId, send: null };
		}
		// The new password and authenticator come through a reset link, mailed after the commit.
		const send = await applyEnable(tx, ctx, before.id, reason, null);
		return { status: 'applied' as const, send };
	});
	if (outcome.send) await deliver(outcome.send, input.accountId);
	return outcome.status === 'pending'
		? { status: 'pending', requestId: outcome.requestId }
		: { status: 'applied' };
}

/**
 * Mails a new one-time link to the person; the administrator never sees it. Each link withdraws
 * the account's earlier unused ones, so the same administrator sends one to an administrator's or
 * auditor's account at most once in `PRIVILEGED_SESSIONS_PAUSE_MINUTES`: a rogue administrator
 * sending one every few seconds would otherwise withdraw each link before its owner could use it,
 * and keep a new (or returning) approver or auditor from ever enrolling. Nobody sends one to
 * themselves (their account page changes their password and authenticator).
 */
export async function sendEnrolmentLink(
	db: Database,
	ctx: AdminContext,
	input: { accountId: number }
): Promise<void> {
	const send = await onOtherAccount(db, ctx, input.accountId, async (tx, row) => {
		if (row.status === 'disabled') throw new AdminError('account_disabled');
		if (
			row.roles.some((r) => PRIVILEGED_ROLES.includes(r)) &&
			(await actedLately(tx, ctx.actor.id, row.id, 'auth.enrolment_sent'))
		)
			throw new AdminError('link_recently_sent', 429);
		const purpose = row.passwordHash ? 'reset' : 'enrol';
		const issued = await enrolment.issue(tx, {
			accountId: row.id,
			purpose,
			requestedBy: ctx.actor.id,
			context: ctx.audit
		});
		return issued.send;
	});
	await deliver(send, input.accountId);
}

/**
 * Staff and liaison roles change at once; any change touching administrator or auditor is
 * filed for a second administrator. Nobody changes their own roles.
 */
export async function changeRoles(
	db: Database,
	ctx: AdminContext,
	input: { accountId: number; roles: Role[]; justification: string }
): Promise<{ status: 'applied' } | { status: 'pending'; requestId: number }> {
	if (input.accountId === ctx.actor.id) throw new AdminError('self', 403);
	const wanted = [...new Set(input.roles)].sort();
	assertSeparation(wanted);
	return onOtherAccount(db, ctx, input.accountId, async (tx, current) => {
		const add = wanted.filter((r) => !current.roles.includes(r));
		const remove = current.roles.filter((r) => !wanted.includes(r));
		if (add.length === 0 && remove.length === 0) throw new AdminError('no_change');
		assertSeparation(rolesAfter(current.roles, add, remove));
		if ([...add, ...remove].some((r) => PRIVILEGED_ROLES.includes(r))) {
			const justification = requireText(input.justification);
			const requestId = await approvals.file(tx, ctx, {
				kind: 'role_change',
				subjectAccountId: current.id,
				payload: { add, remove, before: current.roles },
				justification
			});
			return { status: 'pending' as const, requestId };
		}
		await applyRoles(tx, ctx, current.id, { add, remove }, null);
		return { status: 'applied' as const };
	});
}

/** A change of organisation always waits for a second administrator. */
export async function requestOrganisationChange(
	db: Database,
	ctx: AdminContext,
	input: { accountId: number; organisationId: number; justification: string }
): Promise<{ requestId: number }> {
	if (input.accountId === ctx.actor.id) throw new AdminError('self', 403);
	const justification = requireText(input.justification);
	return onOtherAccount(db, ctx, input.accountId, async (tx, current) => {
		const [org] = await tx
			.select({ id: organisation.id })
			.from(organisation)
			.where(eq(organisation.id, input.organisationId));
		if (!org) throw new AdminError('invalid_value');
		if (current.organisationId === org.id) throw new AdminError('no_change');
		const requestId = await approvals.file(tx, ctx, {
			kind: 'organisation_change',
			subjectAccountId: current.id,
			payload: { organisationId: org.id, before: current.organisationId },
			justification
		});
		return { requestId };
	});
}
