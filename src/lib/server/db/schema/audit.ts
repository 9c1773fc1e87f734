import { bigint, index, integer, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * The append-only, hash-chained audit log. `seq` comes from the chain (previous + 1 under a
 * lock), never from a PostgreSQL sequence, so that rolled-back transactions leave no gaps.
 */
export const auditEvent = pgTable(
	'audit_event',
	{
		seq: bigint({ mode: 'number' }).primaryKey(),
		occurredAt: timestamp('occurred_at', { withTimezone: true, precision: 6 }).notNull(),
		actorId: integer('actor_id'),
		actorName: text('actor_name'),
		actorRoles: text('actor_roles').array().notNull(),
		ip: text(),
		userAgent: text('user_agent'),
		requestId: text('request_id'),
		action: text().notNull(),
		targetType: text('target_type'),
		targetId: text('target_id'),
		outcome: text().notNull().$type<'allowed' | 'denied' | 'failed'>(),
		details: jsonb().notNull().$type<Record<string, unknown>>(),
		prevHash: text('prev_hash').notNull(),
		hash: text().notNull()
	},
	(t) => [
		index('audit_event_time_idx').on(t.occurredAt, t.seq),
		index('audit_event_actor_idx').on(t.actorId, t.seq),
		index('audit_event_target_idx').on(t.targetType, t.targetId, t.seq),
		index('audit_event_action_idx').on(t.action, t.seq),
		index('audit_event_outcome_idx').on(t.outcome, t.seq),
		index('audit_event_ip_idx').on(t.ip, t.seq)
	]
);

export type AuditEventRow = typeof auditEvent.$inferSelect;
