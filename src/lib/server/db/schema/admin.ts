import { sql } from 'drizzle-orm';
import { check, index, integer, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { account } from './account';

export const APPROVAL_KINDS = [
	'grant_level',
	'grant_compartment',
	'role_change',
	'organisation_change',
	'compartment_sensitive',
	'setting_change',
	'account_enable',
	'account_disable'
] as const;
export type ApprovalKind = (typeof APPROVAL_KINDS)[number];

export const APPROVAL_STATUSES = ['pending', 'approved', 'rejected', 'withdrawn'] as const;
export type ApprovalStatus = (typeof APPROVAL_STATUSES)[number];

/**
 * The two-person rule: a change waits here until a second administrator, neither the requester
 * nor the subject, decides it. The payload is validated by the admin module, never by the form.
 */
export const approvalRequest = pgTable(
	'approval_request',
	{
		id: integer().primaryKey().generatedAlwaysAsIdentity(),
		kind: text().notNull().$type<ApprovalKind>(),
		subjectAccountId: integer('subject_account_id').references(() => account.id),
		payload: jsonb().notNull().$type<Record<string, unknown>>(),
		justification: text().notNull(),
		status: text().notNull().default('pending').$type<ApprovalStatus>(),
		requestedBy: integer('requested_by')
			.notNull()
			.references(() => account.id),
		requestedAt: timestamp('requested_at', { withTimezone: true }).notNull().defaultNow(),
		decidedBy: integer('decided_by').references(() => account.id),
		decidedAt: timestamp('decided_at', { withTimezone: true }),
		decisionComment: text('decision_comment'),
		resultGrantId: integer('result_grant_id')
	},
	(t) => [
		index('approval_request_status_idx').on(t.status, t.requestedAt),
		index('approval_request_subject_idx').on(t.subjectAccountId),
		check(
			'approval_request_kind_valid',
			sql`${t.kind} in ('grant_level','grant_compartment','role_change','organisation_change','compartment_sensitive','setting_change','account_enable','account_disable')`
		),
		check(
			'approval_request_status_valid',
			sql`${t.status} in ('pending','approved','rejected','withdrawn')`
		),
		check(
			'approval_request_not_self_decided',
			sql`${t.decidedBy} is null or (${t.decidedBy} <> ${t.requestedBy} and ${t.decidedBy} is distinct from ${t.subjectAccountId})`
		)
	]
);

/** Settings an administrator may change at run time (e.g. the two-person threshold level). */
export const setting = pgTable('setting', {
	key: text().primaryKey(),
	value: jsonb().notNull(),
	updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
	updatedBy: integer('updated_by').references(() => account.id)
});

export type ApprovalRequest = typeof approvalRequest.$inferSelect;
export type Setting = typeof setting.$inferSelect;
