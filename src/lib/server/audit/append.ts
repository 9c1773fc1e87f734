import { sql, type SQL } from 'drizzle-orm';
import { queryRows, sqlStateOf, toNumber, type Database, type Executor } from '../db';
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
 * kept as visible data (U+2400 for NUL, U+FFFD for a lone surrogate) rather than refused, so
 * hostile values are still logged. Shortened first and made well-formed after: a cut through a
 * surrogate pair would otherwise leave half of it, which the database stores as U+FFFD while
 * the hash was computed over the half, and the event would fail verification for ever.
 */
function cleanString(value: string, max = Number.POSITIVE_INFINITY): string {
	const short = value.length > max ? value.slice(0, max) + '…' : value;
	return short.replaceAll('\u0000', '\u2400').toWellFormed();
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
		// The head's row lock first (audit_head_lock, migration 0007: the app's role may not
		// update the head itself), held until the caller's transaction ends, so that the rows
		// hashed here on the head are the ones the insert trigger finds it at. Taking the lock,
		// reading the head and the time the events may take (never before the head event, read
		// after the lock was granted) are one round trip; the time is hashed exactly as the
		// database will return it.
		const [head] = await queryRows<{ now: string; seq: unknown; hash: string }>(
			tx,
			sql`select h.seq, h.hash, ${timeText(sql`h.not_before`)} as now from audit_head_lock() h`
		);
		if (!head) throw new Error('The audit chain head is missing (migration 0003 creates it)');
		const rows = chainRows(events, toNumber(head.seq), head.hash, head.now);
		// The insert trigger checks each row against the head and moves the head to it.
		await tx
			.insert(auditEvent)
			.values(rows.map((row) => ({ ...row, occurredAt: sql`${row.occurredAt}::timestamptz` })));
		return rows;
	};
	// A bare database handle gets its own transaction: the head row stays locked until commit.
	return 'rollback' in executor ? run(executor) : executor.transaction(run);
}

/**
 * The database clock, or the time of the event at `headSeq` when that is later: event times
 * never go back as the sequence goes on (the auditor's time filters rely on it), although
 * another instance may have stamped its last event from its own reading of the clock, carried
 * forward a little ahead of it.
 */
function notBeforeHead(headSeq: SQL): SQL {
	return sql`greatest(clock_timestamp(), (select e.occurred_at from audit_event e where e.seq = ${headSeq}))`;
}

/** A step's statement failed; `rows` are what it tried to write (it may have committed). */
export class AppendFailedError extends Error {
	constructor(
		readonly rows: ChainedRow[],
		options?: ErrorOptions
	) {
		super('The audit chain step failed', options);
		this.name = 'AppendFailedError';
	}
}

/**
 * Whether the rows of a failed step are in the log after all: a step whose commit succeeded
 * but whose answer was lost with the connection. Its last row, at its sequence number with its
 * hash, can only be there if the whole step committed (one statement).
 */
export async function isAppended(db: Database, rows: ChainedRow[]): Promise<boolean> {
	const last = rows.at(-1);
	if (!last) return false;
	const found = await queryRows<{ one: number }>(
		db,
		sql`select 1 as one from audit_event where seq = ${last.seq} and hash = ${last.hash}`
	);
	return found.length > 0;
}

const CONFLICT_RETRIES = 2;
/** SQLSTATE of the insert trigger's refusal: the rows do not follow the head (migration 0007). */
const HEAD_MOVED = 'JA001';
/** How long a head learnt from this process's own step is used before it is read again. */
const KNOWN_HEAD_MS = 30_000;

/**
 * The head this process last wrote through `appendOwnTransaction`, and the database clock's
 * offset from this process's monotonic clock, measured when the head was last read. It is only
 * a guess that saves a round trip: the step's SQL condition checks it against the head row, and
 * any mismatch (another writer or instance, a locked append, a restored database) throws it away.
 */
interface KnownHead {
	seq: number;
	hash: string;
	/** Time of the newest event written, microseconds since the epoch. */
	micros: number;
	/** Database clock minus `nowMicros()`, measured at `readAt` (to within half a round trip). */
	offset: number;
	readAt: number;
}
const knownHeads = new WeakMap<Database, KnownHead>();

const nowMicros = () => Math.round((performance.timeOrigin + performance.now()) * 1000);

/** `2026-01-02T03:04:05.123456Z` (as `timeText` renders it) to microseconds since the epoch. */
export function parseTimeText(text: string): number {
	const match = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3})(\d{3})Z$/.exec(text);
	if (!match) throw new Error(`Unexpected database time ${JSON.stringify(text)}`);
	return Date.parse(`${match[1]}Z`) * 1000 + Number(match[2]);
}

/** Microseconds since the epoch as `timeText` renders them (UTC, six decimals). */
export function formatTimeText(micros: number): string {
	const millis = Math.floor(micros / 1000);
	const iso = new Date(millis).toISOString();
	return `${iso.slice(0, 23)}${String(micros - millis * 1000).padStart(3, '0')}Z`;
}

/**
 * Appends events that go with no other write, in a transaction of their own, holding the
 * head's lock for one statement only: the insert, whose trigger locks the head, refuses the rows
 * unless the head is still the one they were hashed on, and moves it, committing with them
 * (autocommit). Under the lock there is one round trip and the commit, which is what
 * bounds how many steps per second one chain can take.
 *
 * The head comes from this process's previous step when it wrote the newest events (then the
 * step is a single round trip), or else it is read first, without a lock, with the database
 * clock. Event times are the database clock: read with the head, or carried forward from that
 * reading on the monotonic clock for at most `KNOWN_HEAD_MS`, and never earlier than the
 * previous event this process wrote. When another writer moved the head in between, nothing was
 * written and it starts again from a fresh read; after a second conflict it takes the lock
 * first, as `appendAuditEvents` does, so a busy chain shared by several instances still makes
 * progress.
 */
export async function appendOwnTransaction(
	db: Database,
	events: AuditEventInput[]
): Promise<ChainedFields[]> {
	if (events.length === 0) return [];
	const known = knownHeads.get(db);
	let head = known && performance.now() - known.readAt < KNOWN_HEAD_MS ? known : undefined;
	for (let reads = 0; head || reads < CONFLICT_RETRIES;) {
		let micros: number;
		if (head) {
			micros = Math.max(Math.round(nowMicros() + head.offset), head.micros);
		} else {
			reads++;
			const sent = nowMicros();
			const [read] = await queryRows<{ now: string; seq: unknown; hash: string }>(
				db,
				sql`select seq, hash, ${timeText(notBeforeHead(sql`audit_head.seq`))} as now from audit_head where id = 1`
			);
			if (!read) throw new Error('The audit chain head is missing (migration 0003 creates it)');
			const clock = parseTimeText(read.now);
			// Never before the last event this process wrote (its time may have been carried
			// forward a little ahead of the database clock).
			micros = Math.max(clock, known?.micros ?? 0);
			head = {
				seq: toNumber(read.seq),
				hash: read.hash,
				micros,
				// The clock was read somewhere between sending and receiving: take the middle.
				offset: clock - (sent + nowMicros()) / 2,
				readAt: performance.now()
			};
		}
		const rows = chainRows(events, head.seq, head.hash, formatTimeText(micros));
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
		try {
			// The insert trigger (migration 0007) locks the head, refuses the rows unless they follow
			// it, and moves it to the last of them: one statement, committed on its own.
			await queryRows<{ seq: unknown }>(
				db,
				sql`insert into audit_event (seq, occurred_at, actor_id, actor_name, actor_roles, ip, user_agent,
					request_id, action, target_type, target_id, outcome, details, prev_hash, hash)
				values ${values}
				returning seq`
			);
		} catch (error) {
			knownHeads.delete(db);
			if (sqlStateOf(error) === HEAD_MOVED) {
				// Another writer moved the head since it was read: nothing was written.
				head = undefined;
				continue;
			}
			// Whether it committed is unknown (a lost connection): the next step reads the head,
			// and the caller can ask whether these rows are in the log (`isAppended`).
			throw new AppendFailedError(rows, { cause: error });
		}
		knownHeads.set(db, { ...head, seq: rows.at(-1)!.seq, hash: rows.at(-1)!.hash, micros });
		return rows;
	}
	return appendAuditEvents(db, events);
}
