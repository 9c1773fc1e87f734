import { and, asc, desc, eq, inArray, ne, sql } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import * as audit from '../audit';
import type { Database, Executor } from '../db';
import {
	account,
	approvalRequest,
	organisation,
	type ApprovalStatus,
	type Role
} from '../db/schema';
import { AdminError, assertAdministrator, requireText, type AdminContext } from './context';
import * as grants from './grants';
import * as reference from './reference';
import { applyDisable, applyEnable, applyOrganisation, applyRoles, deliver } from './roles';
import * as settings from './settings';

const requester = alias(account, 'requester');
const subject = alias(account, 'subject');
const subjectOrganisation = alias(organisation, 'subject_organisation');
const decider = alias(account, 'decider');

export interface ApprovalView {
	id: number;
	kind: string;
	status: ApprovalStatus;
	payload: Record<string, unknown>;
	justification: string;
	subjectAccountId: number | null;
	subjectName: string | null;
	/**
	 * What tells the subject apart beside the display name, which anyone's account may share:
	 * the approver must see whose access changes, not whom the name suggests.
	 */
	subjectEmail: string | null;
	subjectOrganisationCode: string | null;
	requestedBy: number;
	requesterName: string;
	requestedAt: Date;
	decidedByName: string | null;
	decidedAt: Date | null;
	decisionComment: string | null;
}

function select(executor: Executor) {
	return executor
		.select({
			id: approvalRequest.id,
			kind: approvalRequest.kind,
			status: approvalRequest.status,
			payload: approvalRequest.payload,
			justification: approvalRequest.justification,
			subjectAccountId: approvalRequest.subjectAccountId,
			subjectName: subject.displayName,
			subjectEmail: subject.email,
			subjectOrganisationCode: subjectOrganisation.code,
			requestedBy: approvalRequest.requestedBy,
			requesterName: requester.displayName,
			requestedAt: approvalRequest.requestedAt,
			decidedByName: decider.displayName,
			decidedAt: approvalRequest.decidedAt,
			decisionComment: approvalRequest.decisionComment
		})
		.from(approvalRequest)
		.innerJoin(requester, eq(requester.id, approvalRequest.requestedBy))
		.leftJoin(subject, eq(subject.id, approvalRequest.subjectAccountId))
		.leftJoin(subjectOrganisation, eq(subjectOrganisation.id, subject.organisationId))
		.leftJoin(decider, eq(decider.id, approvalRequest.decidedBy));
}

export async function listPending(executor: Executor): Promise<ApprovalView[]> {
	return select(executor)
		.where(eq(approvalRequest.status, 'pending'))
		.orderBy(asc(approvalRequest.requestedAt), asc(approvalRequest.id));
}

export async function listDecided(executor: Executor, limit = 50): Promise<ApprovalView[]> {
	return select(executor)
		.where(ne(approvalRequest.status, 'pending'))
		.orderBy(desc(approvalRequest.decidedAt), desc(approvalRequest.id))
		.limit(limit);
}

export async function listForSubject(
	executor: Executor,
	accountId: number
): Promise<ApprovalView[]> {
	return select(executor)
		.where(
			and(eq(approvalRequest.subjectAccountId, accountId), eq(approvalRequest.status, 'pending'))
		)
		.orderBy(asc(approvalRequest.id));
}

export async function countPending(executor: Executor): Promise<number> {
	const [row] = await executor
		.select({ n: sql<number>`count(*)::int` })
		.from(approvalRequest)
		.where(eq(approvalRequest.status, 'pending'));
	return Number(row?.n ?? 0);
}

/**
 * Takes the request row under a lock. Two administrators deciding (or one deciding while the
 * requester withdraws) at the same moment queue here: the second finds it no longer pending.
 */
async function lockPending(tx: Executor, id: number) {
	const [row] = await tx
		.select()
		.from(approvalRequest)
		.where(eq(approvalRequest.id, id))
		.for('update');
	if (!row) throw new AdminError('not_found', 404);
	if (row.status !== 'pending') throw new AdminError('already_decided', 409);
	return row;
}

async function finish(
	tx: Executor,
	ctx: AdminContext,
	id: number,
	status: Exclude<ApprovalStatus, 'pending'>,
	comment: string | null,
	resultGrantId: number | null = null
) {
	// Conditional as well as locked: a decided row is never decided again.
	const [row] = await tx
		.update(approvalRequest)
		.set({
			status,
			// A withdrawal is the requester's own act: the audit record names them, decided_by
			// stays for a second person (the table refuses the requester there).
			decidedBy: status === 'withdrawn' ? null : ctx.actor.id,
			decidedAt: new Date(),
			decisionComment: comment,
			resultGrantId
		})
		.where(and(eq(approvalRequest.id, id), eq(approvalRequest.status, 'pending')))
		.returning();
	if (!row) throw new AdminError('already_decided', 409);
	return row;
}

/**
 * A decided grant request is recorded as `grant.approved` / `grant.rejected` (the catalogue's
 * names for the grant's life); other requests as `approval.approved` / `approval.rejected`.
 * Either way it is one event, targeting the request, with the request kind in its details.
 */
function isGrantRequest(kind: string): boolean {
	return kind === 'grant_level' || kind === 'grant_compartment';
}

function assertSecondPerson(
	ctx: AdminContext,
	req: { requestedBy: number; subjectAccountId: number | null }
) {
	if (req.requestedBy === ctx.actor.id || req.subjectAccountId === ctx.actor.id)
		throw new AdminError('self', 403);
}

/**
 * Two people means two administrators now: a request filed by someone who has since been
 * disabled, locked out or lost the role can no longer be approved (only rejected), or a
 * departed administrator's requests would live on as one half of the rule.
 */
async function assertRequesterStillAdministrator(tx: Executor, requesterId: number): Promise<void> {
	const [requester] = await tx
		.select({ status: account.status, roles: account.roles })
		.from(account)
		.where(eq(account.id, requesterId))
		.for('share');
	if (requester?.status !== 'active' || !requester.roles.includes('administrator'))
		throw new AdminError('requester_not_administrator', 409);
}

/** Approves and applies the change, with every rule checked again now. */
export async function approve(
	db: Database,
	ctx: AdminContext,
	input: { requestId: number; comment: string },
	now: Date = new Date()
): Promise<void> {
	const comment = requireText(input.comment, 'comment_required');
	// A reset link the applied change mails once it has committed, with its account.
	const mail = await db.transaction(async (tx) => {
		let send: { send: () => Promise<void>; accountId: number } | null = null;
		await assertAdministrator(tx, ctx);
		const req = await lockPending(tx, input.requestId);
		assertSecondPerson(ctx, req);
		await assertRequesterStillAdministrator(tx, req.requestedBy);
		let resultGrantId: number | null = null;
		const p = req.payload;
		switch (req.kind) {
			case 'grant_level':
			case 'grant_compartment':
				resultGrantId = await grants.applyApproved(tx, ctx, req, now);
				break;
			case 'role_change':
				await applyRoles(
					tx,
					ctx,
					req.subjectAccountId!,
					{ add: (p.add ?? []) as Role[], remove: (p.remove ?? []) as Role[] },
					req.id
				);
				break;
			case 'organisation_change':
				await applyOrganisation(tx, ctx, req.subjectAccountId!, Number(p.organisationId), req.id);
				break;
			case 'compartment_sensitive':
				await reference.applySensitive(
					tx,
					ctx,
					Number(p.compartmentId),
					p.sensitive === true,
					req.id
				);
				break;
			case 'setting_change':
				await settings.apply(tx, ctx, 'two_person_level', Number(p.value), {
					approvalRequestId: req.id
				});
				break;
			case 'account_enable': {
				const link = await applyEnable(tx, ctx, req.subjectAccountId!, req.justification, req.id);
				if (link) send = { send: link, accountId: req.subjectAccountId! };
				break;
			}
			case 'account_disable':
				await applyDisable(tx, ctx, req.subjectAccountId!, req.justification, req.id);
				break;
		}
		await finish(tx, ctx, req.id, 'approved', comment, resultGrantId);
		await audit.append(tx, {
			...ctx.audit,
			action: isGrantRequest(req.kind) ? 'grant.approved' : 'approval.approved',
			outcome: 'allowed',
			target: { type: 'approval_request', id: req.id },
			details: {
				kind: req.kind,
				before: { status: 'pending' },
				after: { status: 'approved', resultGrantId },
				requestedBy: req.requestedBy,
				subjectAccountId: req.subjectAccountId,
				comment
			}
		});
		return send;
	});
	if (mail) await deliver(mail.send, mail.accountId);
}

export async function reject(
	db: Database,
	ctx: AdminContext,
	input: { requestId: number; comment: string }
): Promise<void> {
	const comment = requireText(input.comment, 'comment_required');
	await db.transaction(async (tx) => {
		await assertAdministrator(tx, ctx);
		const req = await lockPending(tx, input.requestId);
		assertSecondPerson(ctx, req);
		await finish(tx, ctx, req.id, 'rejected', comment);
		await audit.append(tx, {
			...ctx.audit,
			action: isGrantRequest(req.kind) ? 'grant.rejected' : 'approval.rejected',
			outcome: 'allowed',
			target: { type: 'approval_request', id: req.id },
			details: {
				kind: req.kind,
				before: { status: 'pending' },
				after: { status: 'rejected' },
				comment
			}
		});
	});
}

/** Only the requester withdraws their own pending request. */
export async function withdraw(
	db: Database,
	ctx: AdminContext,
	input: { requestId: number }
): Promise<void> {
	await db.transaction(async (tx) => {
		await assertAdministrator(tx, ctx);
		const req = await lockPending(tx, input.requestId);
		if (req.requestedBy !== ctx.actor.id) throw new AdminError('not_requester', 403);
		await finish(tx, ctx, req.id, 'withdrawn', null);
		await audit.append(tx, {
			...ctx.audit,
			action: 'approval.withdrawn',
			outcome: 'allowed',
			target: { type: 'approval_request', id: req.id },
			details: { kind: req.kind, before: { status: 'pending' }, after: { status: 'withdrawn' } }
		});
	});
}

/** Files a request for a change that waits for a second administrator. */
export async function file(
	tx: Executor,
	ctx: AdminContext,
	input: {
		kind: 'role_change' | 'organisation_change' | 'account_enable' | 'account_disable';
		subjectAccountId: number;
		payload: Record<string, unknown>;
		justification: string;
	}
): Promise<number> {
	const [created] = await tx
		.insert(approvalRequest)
		.values({ ...input, requestedBy: ctx.actor.id })
		.returning({ id: approvalRequest.id });
	await audit.append(tx, {
		...ctx.audit,
		action: 'approval.requested',
		outcome: 'allowed',
		target: { type: 'approval_request', id: created!.id },
		details: {
			kind: input.kind,
			subjectAccountId: input.subjectAccountId,
			payload: input.payload,
			justification: input.justification
		}
	});
	return created!.id;
}

export async function hasPendingFor(
	executor: Executor,
	accountId: number,
	kinds: ('role_change' | 'organisation_change' | 'account_enable' | 'account_disable')[]
): Promise<boolean> {
	const rows = await executor
		.select({ id: approvalRequest.id })
		.from(approvalRequest)
		.where(
			and(
				eq(approvalRequest.subjectAccountId, accountId),
				eq(approvalRequest.status, 'pending'),
				inArray(approvalRequest.kind, kinds)
			)
		)
		.limit(1);
	return rows.length > 0;
}
