import { hash } from 'node:crypto';
import { sql, type SQL } from 'drizzle-orm';
import type { AuditOutcome } from './catalogue';
import { NOT_PLAIN, canonicalJson, canonicalOrder } from './canonical';

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

/**
 * The event as RFC 8785 JSON, written field by field; the keys are in their canonical (sorted)
 * order. The reference for `canonicalEvent`, which must always return exactly this.
 */
export function canonicalEventReference(event: ChainedFields): string {
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

const text = (value: unknown) => value === null || typeof value === 'string';
const integer = (value: unknown) => value === null || Number.isSafeInteger(value);

/**
 * The event as RFC 8785 JSON, byte for byte `canonicalEventReference`: one native
 * `JSON.stringify` of an object whose keys are inserted in canonical order (details and roles
 * put in canonical order by `canonicalOrder`), which is several times faster; any value that
 * path cannot promise to write identically takes the reference path.
 */
export function canonicalEvent(event: ChainedFields): string {
	const actorRoles = canonicalOrder(event.actorRoles);
	const details = canonicalOrder(event.details);
	if (
		actorRoles === NOT_PLAIN ||
		details === NOT_PLAIN ||
		!text(event.action) ||
		!integer(event.actorId) ||
		!text(event.actorName) ||
		!text(event.ip) ||
		!text(event.occurredAt) ||
		!text(event.outcome) ||
		!text(event.requestId) ||
		!integer(event.seq) ||
		!text(event.targetId) ||
		!text(event.targetType) ||
		!text(event.userAgent)
	) {
		return canonicalEventReference(event);
	}
	return JSON.stringify({
		action: event.action,
		actorId: event.actorId,
		actorName: event.actorName,
		actorRoles,
		details,
		ip: event.ip,
		occurredAt: event.occurredAt,
		outcome: event.outcome,
		requestId: event.requestId,
		seq: event.seq,
		targetId: event.targetId,
		targetType: event.targetType,
		userAgent: event.userAgent
	});
}

/** hash = SHA-256(previous hash ‖ canonical event), hex. */
export function chainHash(prevHash: string, event: ChainedFields): string {
	return hash('sha256', prevHash + canonicalEvent(event), 'hex');
}
