import { and, asc, desc, eq, isNull, sql } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import * as audit from '../audit';
import { getConfig } from '../config';
import type { Database, Executor } from '../db';
import { account, approvalRequest, compartment, grant, level } from '../db/schema';
import {
	AdminError,
	assertAdministrator,
	endOfDay,
	latestEndDate,
	requireText,
	type AdminContext
} from './context';
import * as settings from './settings';

export type GrantInput =
	| {
			accountId: number;
			kind: 'level';
			levelRank: number;
			justification: string;
			endDate: string | null;
	  }
	| {
			accountId: number;
			kind: 'compartment';
			compartmentId: number;
			justification: string;
			endDate: string | null;
	  };

export type GrantState = 'active' | 'expired' | 'revoked' | 'future';

export function stateOf(
	row: { revokedAt: Date | null; validFrom: Date; validUntil: Date | null },
	at: Date = new Date()
): GrantState {
	if (row.revokedAt) return 'revoked';
	if (row.validFrom > at) return 'future';
	if (row.validUntil && row.validUntil <= at) return 'expired';
	return 'active';
}

export function grantSnapshot(row: typeof grant.$inferSelect) {
	return {
		id: row.id,
		accountId: row.accountId,
		kind: row.kind,
		levelRank: row.levelRank,
		compartmentId: row.compartmentId,
		reason: row.reason,
		grantedBy: row.grantedBy,
		approvedBy: row.approvedBy,
		validFrom: row.validFrom,
		validUntil: row.validUntil,
		revokedAt: row.revokedAt,
		revokedBy: row.revokedBy,
		revokeReason: row.revokeReason
	};
}

/** The longest a grant may run now, for the forms: its days and the latest end date. */
export function endDateLimit(timeZone: string, now: Date = new Date()) {
	const days = getConfig().grantMaxDays;
	return { days, latest: latestEndDate(timeZone, days, now) };
}

interface Checked {
	accountId: number;
	kind: 'level' | 'compartment';
	levelRank: number | null;
	compartmentId: number | null;
	justification: string;
	validUntil: Date | null;
	needsApproval: boolean;
}

/**
 * Every rule a grant must pass, whether it is created at once or later on approval: the
 * subject is not the actor, is not disabled, the target exists, the end date is in the future,
 * no later than `GRANT_MAX_DAYS` from now, and present where the configured level requires it.
 */
async function check(
	tx: Executor,
	ctx: AdminContext,
	input: GrantInput,
	now: Date
): Promise<Checked> {
	if (input.accountId === ctx.actor.id) throw new AdminError('self', 403);
	const justification = requireText(input.justification);
	const [subject] = await tx
		.select({ status: account.status })
		.from(account)
		.where(eq(account.id, input.accountId))
		.for('update');
	if (!subject) throw new AdminError('not_found', 404);
	if (subject.status === 'disabled') throw new AdminError('account_disabled');

	let validUntil: Date | null = null;
	if (input.endDate !== null && input.endDate !== '') {
		validUntil = endOfDay(input.endDate, ctx.timeZone);
		if (validUntil <= now) throw new AdminError('end_date_past');
		// A required end date means nothing without a limit (9999-12-31 is a date too). Both are
		// "YYYY-MM-DD" (endOfDay checked the form), so they compare as strings.
		if (input.endDate > endDateLimit(ctx.timeZone, now).latest)
			throw new AdminError('end_date_too_far');
	}

	const threshold = await settings.get(tx, 'two_person_level');
	if (input.kind === 'level') {
		if (!Number.isInteger(input.levelRank)) throw new AdminError('invalid_value');
		const [row] = await tx.select().from(level).where(eq(level.rank, input.levelRank));
		if (!row || row.rank === 0) throw new AdminError('invalid_value');
		const endRequiredFrom = await settings.get(tx, 'end_date_required_level');
		if (row.rank >= endRequiredFrom && !validUntil) throw new AdminError('end_date_required');
		return {
			accountId: input.accountId,
			kind: 'level',
			levelRank: row.rank,
			compartmentId: null,
			justification,
			validUntil,
			needsApproval: row.rank >= threshold
		};
	}
	if (!Number.isInteger(input.compartmentId)) throw new AdminError('invalid_value');
	const [row] = await tx.select().from(compartment).where(eq(compartment.id, input.compartmentId));
	if (!row) throw new AdminError('invalid_value');
	// A sensitive read-in is as weighty as a grant above the threshold: it needs an end date too.
	if (row.sensitive && !validUntil) throw new AdminError('end_date_required');
	return {
		accountId: input.accountId,
		kind: 'compartment',
		levelRank: null,
		compartmentId: row.id,
		justification,
		validUntil,
		needsApproval: row.sensitive
	};
}

/** A grant that took two administrators, as an approval request about the account shows it. */
export interface TwoPersonGrant {
	grantId: number;
	kind: 'level' | 'compartment';
	levelRank: number | null;
	compartmentCode: string | null;
	validUntil: string | null;
}

/**
 * The account's grants, in force or still to begin, that a second administrator would have to
 * approve today: a level at or above the two-person threshold, a read-in to a sensitive
 * compartment. A disabled account keeps its grants (access is its grants' while it is active),
 * so enabling it again brings these back and waits for a second administrator as they did.
 */
export async function twoPersonGrants(tx: Executor, accountId: number): Promise<TwoPersonGrant[]> {
	const threshold = await settings.get(tx, 'two_person_level');
	const rows = await tx
		.select({
			grantId: grant.id,
			kind: grant.kind,
			levelRank: grant.levelRank,
			compartmentCode: compartment.code,
			validUntil: grant.validUntil
		})
		.from(grant)
		.leftJoin(compartment, eq(compartment.id, grant.compartmentId))
		.where(
			and(
				eq(grant.accountId, accountId),
				isNull(grant.revokedAt),
				sql`(${grant.validUntil} is null or ${grant.validUntil} > clock_timestamp())`,
				sql`((${grant.kind} = 'level' and ${grant.levelRank} >= ${threshold})
					or (${grant.kind} = 'compartment' and ${compartment.sensitive}))`
			)
		)
		.orderBy(asc(grant.id));
	return rows.map((r) => ({
		...r,
		kind: r.kind === 'level' ? 'level' : 'compartment',
		validUntil: r.validUntil ? r.validUntil.toISOString() : null
	}));
}

/** Inserts the grant and its audit record; used directly and on approval. */
async function insertGrant(
	tx: Executor,
	ctx: AdminContext,
	checked: Checked,
	grantedBy: number,
	approvedBy: number | null,
	approvalRequestId: number | null
) {
	const [created] = await tx
		.insert(grant)
		.values({
			accountId: checked.accountId,
			kind: checked.kind,
			levelRank: checked.levelRank,
			compartmentId: checked.compartmentId,
			reason: checked.justification,
			grantedBy,
			approvedBy,
			validUntil: checked.validUntil
		})
		.returning();
	await audit.append(tx, {
		...ctx.audit,
		action: 'grant.created',
		outcome: 'allowed',
		target: { type: 'grant', id: created!.id },
		details: { before: null, after: grantSnapshot(created!), approvalRequestId }
	});
	return created!;
}

/**
 * Grants at once below the two-person threshold; at or above it (or for a sensitive
 * compartment) files an approval request for a second administrator instead.
 */
export async function request(
	db: Database,
	ctx: AdminContext,
	input: GrantInput,
	now: Date = new Date()
): Promise<{ status: 'created'; grantId: number } | { status: 'pending'; requestId: number }> {
	return db.transaction(async (tx) => {
		await assertAdministrator(tx, ctx);
		const checked = await check(tx, ctx, input, now);
		if (!checked.needsApproval) {
			const created = await insertGrant(tx, ctx, checked, ctx.actor.id, null, null);
			return { status: 'created' as const, grantId: created.id };
		}
		const payload = {
			kind: checked.kind,
			levelRank: checked.levelRank,
			compartmentId: checked.compartmentId,
			endDate: input.endDate || null
		};
		const [created] = await tx
			.insert(approvalRequest)
			.values({
				kind: checked.kind === 'level' ? 'grant_level' : 'grant_compartment',
				subjectAccountId: checked.accountId,
				payload,
				justification: checked.justification,
				requestedBy: ctx.actor.id
			})
			.returning({ id: approvalRequest.id });
		await audit.append(tx, {
			...ctx.audit,
			action: 'grant.requested',
			outcome: 'allowed',
			target: { type: 'approval_request', id: created!.id },
			details: {
				subjectAccountId: checked.accountId,
				payload,
				justification: checked.justification
			}
		});
		return { status: 'pending' as const, requestId: created!.id };
	});
}

/** Applies an approved grant request: every rule is checked again at the moment of approval. */
export async function applyApproved(
	tx: Executor,
	ctx: AdminContext,
	req: typeof approvalRequest.$inferSelect,
	now: Date
): Promise<number> {
	const p = req.payload as {
		kind: 'level' | 'compartment';
		levelRank: number | null;
		compartmentId: number | null;
		endDate: string | null;
	};
	const input: GrantInput =
		p.kind === 'level'
			? {
					accountId: req.subjectAccountId!,
					kind: 'level',
					levelRank: p.levelRank!,
					justification: req.justification,
					endDate: p.endDate
				}
			: {
					accountId: req.subjectAccountId!,
					kind: 'compartment',
					compartmentId: p.compartmentId!,
					justification: req.justification,
					endDate: p.endDate
				};
	// The checks run as the requester would have them; the approver is checked by the caller.
	// The end date is measured against the limit in force now, from now: a request filed before
	// the limit was lowered cannot be approved past it (the approver rejects it, and the
	// requester files it again with an earlier date).
	const checked = await check(
		tx,
		{ ...ctx, actor: { ...ctx.actor, id: req.requestedBy } },
		input,
		now
	).catch((error: unknown) => {
		if (error instanceof AdminError && error.code === 'end_date_too_far')
			throw new AdminError('request_end_date_too_far', 409);
		throw error;
	});
	const created = await insertGrant(tx, ctx, checked, req.requestedBy, ctx.actor.id, req.id);
	return created.id;
}

/** Revokes a grant with a reason. A second revocation of the same grant is refused. */
export async function revoke(
	db: Database,
	ctx: AdminContext,
	input: { grantId: number; reason: string; accountId?: number },
	now: Date = new Date()
): Promise<void> {
	const reason = requireText(input.reason);
	await db.transaction(async (tx) => {
		await assertAdministrator(tx, ctx);
		const [before] = await tx.select().from(grant).where(eq(grant.id, input.grantId)).for('update');
		if (!before) throw new AdminError('not_found', 404);
		// From an account's page, the grant must be that account's.
		if (input.accountId !== undefined && before.accountId !== input.accountId)
			throw new AdminError('not_found', 404);
		const [after] = await tx
			.update(grant)
			.set({ revokedAt: now, revokedBy: ctx.actor.id, revokeReason: reason })
			.where(and(eq(grant.id, input.grantId), isNull(grant.revokedAt)))
			.returning();
		if (!after) throw new AdminError('already_revoked', 409);
		await audit.append(tx, {
			...ctx.audit,
			action: 'grant.revoked',
			outcome: 'allowed',
			target: { type: 'grant', id: after.id },
			details: { before: grantSnapshot(before), after: grantSnapshot(after), reason }
		});
	});
}

const granter = alias(account, 'granter');
const approver = alias(account, 'approver');

export interface GrantView {
	id: number;
	kind: 'level' | 'compartment';
	levelRank: number | null;
	compartmentId: number | null;
	reason: string;
	grantedByName: string | null;
	approvedByName: string | null;
	grantedAt: Date;
	validFrom: Date;
	validUntil: Date | null;
	revokedAt: Date | null;
	revokeReason: string | null;
	attestedAt: Date | null;
	state: GrantState;
}

/** An account's grants, newest first, each with its state now (expired ones show as expired). */
export async function listForAccount(
	executor: Executor,
	accountId: number,
	now: Date = new Date()
): Promise<GrantView[]> {
	const rows = await executor
		.select({
			id: grant.id,
			kind: grant.kind,
			levelRank: grant.levelRank,
			compartmentId: grant.compartmentId,
			reason: grant.reason,
			grantedByName: granter.displayName,
			approvedByName: approver.displayName,
			grantedAt: grant.grantedAt,
			validFrom: grant.validFrom,
			validUntil: grant.validUntil,
			revokedAt: grant.revokedAt,
			revokeReason: grant.revokeReason,
			attestedAt: grant.attestedAt
		})
		.from(grant)
		.leftJoin(granter, eq(granter.id, grant.grantedBy))
		.leftJoin(approver, eq(approver.id, grant.approvedBy))
		.where(eq(grant.accountId, accountId))
		.orderBy(desc(grant.grantedAt), asc(grant.id));
	return rows.map((r) => ({ ...r, state: stateOf(r, now) }));
}

/** Valid grants ending within `days` days, for the administrators' notices. */
export async function expiringWithin(executor: Executor, days: number, now: Date = new Date()) {
	const until = new Date(now.getTime() + days * 86_400_000);
	return executor
		.select({
			id: grant.id,
			accountId: grant.accountId,
			accountName: account.displayName,
			kind: grant.kind,
			levelRank: grant.levelRank,
			compartmentId: grant.compartmentId,
			validUntil: grant.validUntil
		})
		.from(grant)
		.innerJoin(account, eq(account.id, grant.accountId))
		.where(
			and(
				isNull(grant.revokedAt),
				eq(account.status, 'active'),
				sql`${grant.validUntil} > ${now.toISOString()}::timestamptz`,
				sql`${grant.validUntil} <= ${until.toISOString()}::timestamptz`
			)
		)
		.orderBy(asc(grant.validUntil));
}
