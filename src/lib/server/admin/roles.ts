import { and, eq, ne, sql } from 'drizzle-orm';
import * as audit from '../audit';
import type { Executor } from '../db';
import { account, organisation, type Role } from '../db/schema';
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
	const [after] = await tx
		.update(account)
		.set({ roles })
		.where(eq(account.id, accountId))
		.returning();
	await audit.append(tx, {
		...ctx.audit,
		action: 'account.role_changed',
		outcome: 'allowed',
		target: { type: 'account', id: accountId },
		details: {
			before: accountSnapshot(before),
			after: accountSnapshot(after!),
			approvalRequestId
		}
	});
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
	const [after] = await tx
		.update(account)
		.set({ organisationId })
		.where(eq(account.id, accountId))
		.returning();
	await audit.append(tx, {
		...ctx.audit,
		action: 'account.organisation_changed',
		outcome: 'allowed',
		target: { type: 'account', id: accountId },
		details: {
			before: accountSnapshot(before),
			after: accountSnapshot(after!),
			approvalRequestId
		}
	});
}
