import { createHash } from 'node:crypto';
import { sql, type SQL } from 'drizzle-orm';
import type { AuditOutcome } from './catalogue';
import { canonicalJson } from './canonical';

export const GENESIS_HASH = '0'.repeat(64);

/**
 * Timestamps are hashed as text rendered by the database, with microseconds: a JavaScript Date
 * keeps only milliseconds, so a change below the millisecond would otherwise go unnoticed, and
 * the two drivers would not even agree on how to parse the value.
 */
const TIME_FORMAT = `'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'`;
export function timeText(expression: SQL): SQL {
	return sql`to_char(${expression} at time zone 'UTC', ${sql.raw(TIME_FORMAT)})`;
}
export const occurredAtText = timeText(sql.raw('"audit_event"."occurred_at"'));

/** The fields that are hashed, exactly as the database stores and returns them. */
export interface ChainedFields {
	seq: number;
	/** UTC, microseconds, as `occurredAtText` renders the stored value: `2026-01-02T03:04:05.123456Z`. */
	occurredAt: string;
	actorId: number | null;
	actorName: string | null;
	actorRoles: string[];
	ip: string | null;
	userAgent: string | null;
	requestId: string | null;
	action: string;
	targetType: string | null;
	targetId: string | null;
	outcome: AuditOutcome;
	details: Record<string, unknown>;
}

const json = (value: string | number | null) => (value === null ? 'null' : JSON.stringify(value));

/** The event as RFC 8785 JSON; the keys are written in their canonical (sorted) order. */
export function canonicalEvent(event: ChainedFields): string {
	return (
		`{"action":${json(event.action)}` +
		`,"actorId":${json(event.actorId)}` +
		`,"actorName":${json(event.actorName)}` +
		`,"actorRoles":${canonicalJson(event.actorRoles)}` +
		`,"details":${canonicalJson(event.details)}` +
		`,"ip":${json(event.ip)}` +
		`,"occurredAt":${json(event.occurredAt)}` +
		`,"outcome":${json(event.outcome)}` +
		`,"requestId":${json(event.requestId)}` +
		`,"seq":${json(event.seq)}` +
		`,"targetId":${json(event.targetId)}` +
		`,"targetType":${json(event.targetType)}` +
		`,"userAgent":${json(event.userAgent)}}`
	);
}

/** hash = SHA-256(previous hash ‖ canonical event), hex. */
export function chainHash(prevHash: string, event: ChainedFields): string {
	return createHash('sha256').update(prevHash).update(canonicalEvent(event)).digest('hex');
}
