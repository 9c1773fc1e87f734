import { and, asc, eq } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import * as audit from '../audit';
import { grantValidAt } from '../access';
import type { Database, Executor } from '../db';
import { account, approvalRequest, compartment, grant, level, organisation } from '../db/schema';
import { csvCell } from '../csv';
import { AdminError, assertAdministrator, type AdminContext } from './context';

export const EXPIRING_DAYS = 14;

const granter = alias(account, 'granter');
const approver = alias(account, 'approver');
const attester = alias(account, 'attester');

export interface ReviewLine {
	accountId: number;
	accountName: string;
	email: string;
	organisationCode: string;
	status: string;
	roles: string[];
	grantId: number | null;
	kind: string | null;
	/** A level line's rank (the page names it with its code and rank), else null. */
	levelRank: number | null;
	what: string | null;
	reason: string | null;
	since: Date | null;
	until: Date | null;
	grantedBy: number | null;
	grantedByName: string | null;
	approvedBy: number | null;
	approvedByName: string | null;
	attestedAt: Date | null;
	attestedByName: string | null;
	expiringSoon: boolean;
}

/**
 * Every account with each grant it holds now; an account holding none still gets one line,
 * so that the review covers every account (their roles and organisation are access too).
 */
export async function lines(executor: Executor, now: Date = new Date()): Promise<ReviewLine[]> {
	const rows = await executor
		.select({
			accountId: account.id,
			accountName: account.displayName,
			email: account.email,
			organisationCode: organisation.code,
			status: account.status,
			roles: account.roles,
			grantId: grant.id,
			kind: grant.kind,
			levelRank: grant.levelRank,
			levelCode: level.code,
			compartmentCode: compartment.code,
			reason: grant.reason,
			since: grant.validFrom,
			until: grant.validUntil,
			grantedBy: grant.grantedBy,
			grantedByName: granter.displayName,
			approvedBy: grant.approvedBy,
			approvedByName: approver.displayName,
			attestedAt: grant.attestedAt,
			attestedByName: attester.displayName
		})
		.from(account)
		.innerJoin(organisation, eq(organisation.id, account.organisationId))
		.leftJoin(grant, and(eq(grant.accountId, account.id), grantValidAt(now)))
		.leftJoin(level, eq(level.rank, grant.levelRank))
		.leftJoin(compartment, eq(compartment.id, grant.compartmentId))
		.leftJoin(granter, eq(granter.id, grant.grantedBy))
		.leftJoin(approver, eq(approver.id, grant.approvedBy))
		.leftJoin(attester, eq(attester.id, grant.attestedBy))
		.orderBy(asc(account.displayName), asc(account.id), asc(grant.kind), asc(grant.id));
	const soon = now.getTime() + EXPIRING_DAYS * 86_400_000;
	return rows.map((r) => ({
		accountId: r.accountId,
		accountName: r.accountName,
		email: r.email,
		organisationCode: r.organisationCode,
		status: r.status,
		roles: r.roles,
		grantId: r.grantId,
		kind: r.kind,
		levelRank: r.levelRank,
		what: r.levelCode ?? r.compartmentCode ?? null,
		reason: r.reason,
		since: r.since,
		until: r.until,
		grantedBy: r.grantedBy,
		grantedByName: r.grantedByName,
		approvedBy: r.approvedBy,
		approvedByName: r.approvedByName,
		attestedAt: r.attestedAt,
		attestedByName: r.attestedByName,
		expiringSoon: r.until !== null && r.until.getTime() <= soon
	}));
}

/**
 * Marks a line reviewed. A review is a second look: nobody attests their own grant, one they
 * granted, or one they approved (the request that created it, too, in case a grant row did not
 * keep its approver). Only a grant in force now is on the review, so only one can be attested:
 * an expired or revoked grant attested would read as access someone confirmed.
 */
export async function attest(
	db: Database,
	ctx: AdminContext,
	grantId: number,
	now: Date = new Date()
): Promise<void> {
	await db.transaction(async (tx) => {
		await assertAdministrator(tx, ctx);
		const [before] = await tx.select().from(grant).where(eq(grant.id, grantId)).for('update');
		if (!before) throw new AdminError('not_found', 404);
		if (before.accountId === ctx.actor.id) throw new AdminError('self', 403);
		const creators = await tx
			.select({ requestedBy: approvalRequest.requestedBy, decidedBy: approvalRequest.decidedBy })
			.from(approvalRequest)
			.where(eq(approvalRequest.resultGrantId, grantId));
		const involved = [
			before.grantedBy,
			before.approvedBy,
			...creators.flatMap((r) => [r.requestedBy, r.decidedBy])
		];
		if (involved.includes(ctx.actor.id)) throw new AdminError('own_grant', 403);
		const [after] = await tx
			.update(grant)
			.set({ attestedAt: now, attestedBy: ctx.actor.id })
			.where(and(eq(grant.id, grantId), grantValidAt(now)))
			.returning();
		if (!after) {
			if (before.revokedAt) throw new AdminError('already_revoked', 409);
			throw new AdminError('grant_not_current', 409);
		}
		await audit.append(tx, {
			...ctx.audit,
			action: 'grant.attested',
			outcome: 'allowed',
			target: { type: 'grant', id: grantId },
			details: {
				before: { attestedAt: before.attestedAt, attestedBy: before.attestedBy },
				after: { attestedAt: after.attestedAt, attestedBy: after.attestedBy }
			}
		});
	});
}

export const CSV_HEADER = [
	'account_id',
	'account',
	'email',
	'organisation',
	'status',
	'roles',
	'grant_id',
	'kind',
	'holds',
	'reason',
	'since_utc',
	'until_utc',
	'granted_by',
	'approved_by',
	'attested_at_utc',
	'attested_by',
	'expiring_soon'
];

export function toCsv(rows: ReviewLine[]): string {
	const body = rows.map((r) =>
		[
			r.accountId,
			r.accountName,
			r.email,
			r.organisationCode,
			r.status,
			r.roles,
			r.grantId,
			r.kind,
			r.what,
			r.reason,
			r.since,
			r.until,
			r.grantedByName,
			r.approvedByName,
			r.attestedAt,
			r.attestedByName,
			r.expiringSoon ? 'yes' : 'no'
		]
			.map(csvCell)
			.join(',')
	);
	// The BOM makes spreadsheet programs read the Japanese names as UTF-8.
	return '\uFEFF' + [CSV_HEADER.map(csvCell).join(','), ...body].join('\r\n') + '\r\n';
}

/** The export and its audit record share one transaction: no record, no file. */
export async function exportCsv(
	db: Database,
	ctx: AdminContext,
	now: Date = new Date()
): Promise<string> {
	return db.transaction(async (tx) => {
		await assertAdministrator(tx, ctx);
		const rows = await lines(tx, now);
		await audit.append(tx, {
			...ctx.audit,
			action: 'review.exported',
			outcome: 'allowed',
			target: { type: 'access_review', id: now.toISOString() },
			details: {
				lines: rows.length,
				accounts: new Set(rows.map((r) => r.accountId)).size,
				at: now.toISOString()
			}
		});
		return toCsv(rows);
	});
}
