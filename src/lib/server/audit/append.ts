import { sql } from 'drizzle-orm';
import { queryRows, toNumber, type Executor } from '../db';
import { auditEvent } from '../db/schema';
import type { AuditAction, AuditOutcome } from './catalogue';
import { chainHash, timeText, type ChainedFields } from './chain';

export interface AuditActor {
	id: number;
	name: string;
	roles: readonly string[];
}

export interface AuditContext {
	actor?: AuditActor | null;
	ip?: string | null;
	userAgent?: string | null;
	requestId?: string | null;
}

export interface AuditEventInput extends AuditContext {
	action: AuditAction;
	outcome: AuditOutcome;
	target?: { type: string; id: string | number } | null;
	details?: Record<string, unknown>;
}

const MAX_TEXT = 2000;

/**
 * PostgreSQL text and jsonb cannot hold NUL, and lone surrogates are not UTF-8: such input is
 * kept as visible data (U+2400 for NUL) rather than refused, so hostile values are still logged.
 */
function cleanString(value: string, max = Number.POSITIVE_INFINITY): string {
	const clean = value.replaceAll('\u0000', '\u2400').toWellFormed();
	return clean.length > max ? clean.slice(0, max) + '…' : clean;
}

function cleanValue(value: unknown): unknown {
	if (typeof value === 'string') return cleanString(value);
	if (Array.isArray(value)) return value.map(cleanValue);
	if (value && typeof value === 'object') {
		return Object.fromEntries(
			Object.entries(value as Record<string, unknown>).map(([k, v]) => [
				cleanString(k),
				cleanValue(v)
			])
		);
	}
	return value;
}

function cleanDetails(details: Record<string, unknown> | undefined): Record<string, unknown> {
	// Through JSON first: Dates become strings and undefined disappears, as jsonb would store them.
	const plain = JSON.parse(JSON.stringify(details ?? {})) as Record<string, unknown>;
	return cleanValue(plain) as Record<string, unknown>;
}

const optional = (value: string | null | undefined, max = MAX_TEXT) =>
	value === null || value === undefined ? null : cleanString(value, max);

/**
 * Appends events to the hash chain inside the caller's transaction, under a lock, so that
 * the event commits or rolls back with the action it records. Throws on any failure: the
 * caller's action must not happen without its record.
 */
export async function appendAuditEvents(
	executor: Executor,
	events: AuditEventInput[]
): Promise<ChainedFields[]> {
	if (events.length === 0) return [];
	const run = async (tx: Executor) => {
		// The one-row head table is the lock: UPDATE waits for the row, then sees the head as the
		// previous appender committed it (READ COMMITTED re-reads the row), so taking the lock,
		// reading the head, reserving the sequence numbers and reading the database clock are one
		// round trip. The time is hashed exactly as the database will return it.
		const [head] = await queryRows<{ now: string; seq: unknown; hash: string }>(
			tx,
			sql`update audit_head set seq = seq + ${events.length} where id = 1
				returning seq - ${events.length} as seq, hash, ${timeText(sql`clock_timestamp()`)} as now`
		);
		if (!head) throw new Error('The audit chain head is missing (migration 0003 creates it)');
		let seq = toNumber(head.seq);
		let prevHash = head.hash;
		const occurredAt = head.now;
		const rows = events.map((event) => {
			seq += 1;
			const fields: ChainedFields = {
				seq,
				occurredAt,
				actorId: event.actor?.id ?? null,
				actorName: optional(event.actor?.name),
				actorRoles: (event.actor?.roles ?? []).map((r) => cleanString(r)),
				ip: optional(event.ip, 100),
				userAgent: optional(event.userAgent, 500),
				requestId: optional(event.requestId, 100),
				action: event.action,
				targetType: optional(event.target?.type, 100),
				targetId: event.target ? cleanString(String(event.target.id), 200) : null,
				outcome: event.outcome,
				details: cleanDetails(event.details)
			};
			const hash = chainHash(prevHash, fields);
			const row = { ...fields, prevHash, hash };
			prevHash = hash;
			return row;
		});
		const insert = tx
			.insert(auditEvent)
			.values(rows.map((row) => ({ ...row, occurredAt: sql`${row.occurredAt}::timestamptz` })));
		await tx.execute(
			sql`with inserted as (${insert.getSQL()}) update audit_head set hash = ${prevHash} where id = 1`
		);
		return rows;
	};
	// A bare database handle gets its own transaction: the head row stays locked until commit.
	return 'rollback' in executor ? run(executor) : executor.transaction(run);
}
