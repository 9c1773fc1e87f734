import { and, eq, ne, sql } from 'drizzle-orm';
import * as audit from '../audit';
import * as enrolment from '../auth/enrolment';
import * as sessions from '../auth/sessions';
import { enabledAgain } from '../auth/sign-in';
import type { Executor } from '../db';
import { account, organisation, type Role } from '../db/schema';
import { log } from '../log';
import { AdminError, accountSnapshot, type AdminContext } from './context';

/** Roles whose change waits for a second administrator. */
export const PRIVILEGED_ROLES: readonly Role[] = ['administrator', 'auditor'];

export function rolesAfter(current: Role[], add: Role[], remove: Role[]): Role[] {
	const set = new Set<Role>(current);
	for (const r of remove) set.delete(r);
	for (const r of add) set.add(r);
	return [...set].sort();
}

export function assertSeparation(roles: Role[]): void {
	if (roles.includes('administrator') && roles.includes('auditor'))
		throw new AdminError('separation_of_duties');
}

/**
 * Refuses when the account is the last active administrator. The other administrators' rows
 * are locked, so two administrators removing each other at once cannot both succeed.
 */
export async function assertNotLastAdministrator(tx: Executor, accountId: number): Promise<void> {
	const others = await tx
		.select({ id: account.id })
		.from(account)
		.where(
			and(
				ne(account.id, accountId),
				eq(account.status, 'active'),
				sql`${account.roles} @> array['administrator']::text[]`
			)
		)
		.for('update');
	if (others.length === 0) throw new AdminError('last_administrator', 409);
}

export async function lockAccount(tx: Executor, accountId: number) {
	const [row] = await tx.select().from(account).where(eq(account.id, accountId)).for('update');
	if (!row) throw new AdminError('not_found', 404);
	return row;
}

type AccountRow = Awaited<ReturnType<typeof lockAccount>>;

/**
 * Writes a change to a locked account and its audit event, with the account as it was and as
 * it is now, in the caller's transaction.
 */
export async function changeAccount(
	tx: Executor,
	ctx: AdminContext,
	before: AccountRow,
	change: Partial<typeof account.$inferInsert>,
	action: audit.AuditAction,
	details: Record<string, unknown>
): Promise<AccountRow> {
	const [after] = await tx.update(account).set(change).where(eq(account.id, before.id)).returning();
	await audit.append(tx, {
		...ctx.audit,
		action,
		outcome: 'allowed',
		target: { type: 'account', id: before.id },
		details: { before: accountSnapshot(before), after: accountSnapshot(after!), ...details }
	});
	return after!;
}

/** Applies a role change with every separation-of-duties check, and audits before and after. */
export async function applyRoles(
	tx: Executor,
	ctx: AdminContext,
	accountId: number,
	change: { add: Role[]; remove: Role[] },
	approvalRequestId: number | null
): Promise<void> {
	const before = await lockAccount(tx, accountId);
	const roles = rolesAfter(before.roles, change.add, change.remove);
	assertSeparation(roles);
	if (
		before.status === 'active' &&
		before.roles.includes('administrator') &&
		!roles.includes('administrator')
	)
		await assertNotLastAdministrator(tx, accountId);
	if (roles.join() === [...before.roles].sort().join()) throw new AdminError('no_change');
	await changeAccount(tx, ctx, before, { roles }, 'account.role_changed', { approvalRequestId });
}

export async function applyOrganisation(
	tx: Executor,
	ctx: AdminContext,
	accountId: number,
	organisationId: number,
	approvalRequestId: number | null
): Promise<void> {
	const before = await lockAccount(tx, accountId);
	const [org] = await tx
		.select({ id: organisation.id })
		.from(organisation)
		.where(eq(organisation.id, organisationId));
	if (!org) throw new AdminError('invalid_value');
	if (before.organisationId === organisationId) throw new AdminError('no_change');
	await changeAccount(tx, ctx, before, { organisationId }, 'account.organisation_changed', {
		approvalRequestId
	});
}

/**
 * Enables a disabled account again (see `enabledAgain`): active if it had enrolled, otherwise
 * pending; one locked out by wrong codes comes back pending, its credentials cleared, with a
 * reset link, whose mail the caller sends after the commit (returned; null when none).
 */
export async function applyEnable(
	tx: Executor,
	ctx: AdminContext,
	accountId: number,
	reason: string,
	approvalRequestId: number | null
): Promise<(() => Promise<void>) | null> {
	const before = await lockAccount(tx, accountId);
	if (before.status !== 'disabled') throw new AdminError('account_not_disabled', 409);
	const { lockedOut, change } = enabledAgain(before);
	await changeAccount(tx, ctx, before, change, 'account.enabled', {
		reason,
		...(approvalRequestId === null ? {} : { approvalRequestId }),
		...(lockedOut ? { lockedOut, credentialsCleared: true } : {})
	});
	if (!lockedOut) return null;
	const issued = await enrolment.issue(tx, {
		accountId: before.id,
		purpose: 'reset',
		requestedBy: ctx.actor.id,
		context: ctx.audit
	});
	return issued.send;
}

/**
 * Disables an account: every session ends and every unused enrolment or reset link is withdrawn
 * (enabling it again must not bring a link back), in the caller's transaction. The last active
 * administrator is never disabled.
 */
export async function applyDisable(
	tx: Executor,
	ctx: AdminContext,
	accountId: number,
	reason: string,
	approvalRequestId: number | null
): Promise<void> {
	const before = await lockAccount(tx, accountId);
	if (before.status === 'disabled') throw new AdminError('account_disabled', 409);
	if (before.status === 'active' && before.roles.includes('administrator'))
		await assertNotLastAdministrator(tx, before.id);
	const sessionsEnded = await sessions.endAllForAccount(tx, before.id);
	const linksRevoked = await enrolment.revokeUnused(tx, before.id);
	await changeAccount(
		tx,
		ctx,
		before,
		{ status: 'disabled', disabledAt: new Date() },
		'account.disabled',
		{
			reason,
			sessionsEnded,
			linksRevoked,
			...(approvalRequestId === null ? {} : { approvalRequestId })
		}
	);
}

/**
 * Sends an enrolment or reset link's mail once its change has committed. A failed send leaves the
 * change in place and is logged: the administrator can send a new link.
 */
export async function deliver(send: () => Promise<void>, accountId: number): Promise<void> {
	try {
		await send();
	} catch (err) {
		log.error({ err, accountId }, 'the enrolment mail could not be sent');
	}
}
