import { sql } from 'drizzle-orm';
import { queryRows, toNumber, type Database, type Executor } from '../db';
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

type ChainedRow = ChainedFields & { prevHash: string; hash: string };

/** The events as chained rows after the head (`seq`, `prevHash`), all at `occurredAt`. */
function chainRows(
	events: AuditEventInput[],
	headSeq: number,
	headHash: string,
	occurredAt: string
): ChainedRow[] {
	let seq = headSeq;
	let prevHash = headHash;
	return events.map((event) => {
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
}

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
		const rows = chainRows(events, toNumber(head.seq), head.hash, head.now);
		const insert = tx
			.insert(auditEvent)
			.values(rows.map((row) => ({ ...row, occurredAt: sql`${row.occurredAt}::timestamptz` })));
		await tx.execute(
			sql`with inserted as (${insert.getSQL()}) update audit_head set hash = ${rows.at(-1)!.hash} where id = 1`
		);
		return rows;
	};
	// A bare database handle gets its own transaction: the head row stays locked until commit.
	return 'rollback' in executor ? run(executor) : executor.transaction(run);
}

const CONFLICT_RETRIES = 2;

/**
 * Appends events that go with no other write, in a transaction of their own, holding the
 * head's lock for one statement only. The head and the database clock are read first without
 * a lock and the rows hashed; then one statement locks the head (UPDATE), moves it only if it
 * is still the head that was read, and inserts the rows only if it did, committing with it
 * (autocommit). Under the lock there is one round trip and the commit, instead of four round
 * trips and the commit: it is what bounds how many steps per second one chain can take. When
 * another writer moved the head in between, nothing was written and it starts again; after a
 * second conflict it takes the lock first, as `appendAuditEvents` does, so a busy chain shared
 * by several instances still makes progress.
 */
export async function appendOwnTransaction(
	db: Database,
	events: AuditEventInput[]
): Promise<ChainedFields[]> {
	if (events.length === 0) return [];
	for (let attempt = 0; attempt < CONFLICT_RETRIES; attempt++) {
		const [head] = await queryRows<{ now: string; seq: unknown; hash: string }>(
			db,
			sql`select seq, hash, ${timeText(sql`clock_timestamp()`)} as now from audit_head where id = 1`
		);
		if (!head) throw new Error('The audit chain head is missing (migration 0003 creates it)');
		const headSeq = toNumber(head.seq);
		const rows = chainRows(events, headSeq, head.hash, head.now);
		const values = sql.join(
			rows.map(
				(r) =>
					sql`(${r.seq}::bigint, ${r.occurredAt}::timestamptz, ${r.actorId}::integer, ${r.actorName}::text,
					array(select jsonb_array_elements_text(${JSON.stringify(r.actorRoles)}::jsonb)),
					${r.ip}::text, ${r.userAgent}::text, ${r.requestId}::text, ${r.action}::text,
					${r.targetType}::text, ${r.targetId}::text, ${r.outcome}::text,
					${JSON.stringify(r.details)}::jsonb, ${r.prevHash}::text, ${r.hash}::text)`
			),
			sql`, `
		);
		const inserted = await queryRows<{ seq: unknown }>(
			db,
			sql`with moved as (
				update audit_head set seq = ${headSeq + rows.length}, hash = ${rows.at(-1)!.hash}
				where id = 1 and seq = ${headSeq} and hash = ${head.hash}
				returning seq
			)
			insert into audit_event (seq, occurred_at, actor_id, actor_name, actor_roles, ip, user_agent,
				request_id, action, target_type, target_id, outcome, details, prev_hash, hash)
			select v.* from (values ${values}) as v
			where exists (select 1 from moved)
			returning seq`
		);
		if (inserted.length === rows.length) return rows;
		if (inserted.length !== 0) {
			// Cannot happen (one statement, one transaction); refuse rather than guess.
			throw new Error('The audit chain step wrote part of its events');
		}
	}
	return appendAuditEvents(db, events);
}
