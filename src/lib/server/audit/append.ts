import { sql } from 'drizzle-orm';
import { queryRows, toNumber, type Executor } from '../db';
import { auditEvent } from '../db/schema';
import type { AuditAction, AuditOutcome } from './catalogue';
import { GENESIS_HASH, chainHash, timeText, type ChainedFields } from './chain';

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

// One key for the whole chain: appends from every instance queue here, inside their transaction.
const CHAIN_LOCK_KEY = 7_310_442_100;

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
		await tx.execute(sql`select pg_advisory_xact_lock(${CHAIN_LOCK_KEY})`);
		// Head and time in one round trip, after the lock: the time comes from the database clock
		// (one clock for every instance) and is hashed exactly as the database will return it.
		const [head] = await queryRows<{ now: string; seq: unknown; hash: string | null }>(
			tx,
			sql`select ${timeText(sql`clock_timestamp()`)} as now, h.seq, h.hash
				from (select 1) as one
				left join lateral (
					select ${auditEvent.seq} as seq, ${auditEvent.hash} as hash from ${auditEvent}
					order by ${auditEvent.seq} desc limit 1
				) as h on true`
		);
		if (!head) throw new Error('The audit chain head could not be read');
		let seq = head.seq === null || head.seq === undefined ? 0 : toNumber(head.seq);
		let prevHash = head.hash ?? GENESIS_HASH;
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
		await tx
			.insert(auditEvent)
			.values(rows.map((row) => ({ ...row, occurredAt: sql`${row.occurredAt}::timestamptz` })));
		return rows;
	};
	// A bare database handle gets its own transaction: the lock must be held until commit.
	return 'rollback' in executor ? run(executor) : executor.transaction(run);
}
