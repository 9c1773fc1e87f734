import { sql } from 'drizzle-orm';
import { queryRows, toNumber, type Database } from '../db';
import type { ObjectStore } from '../storage';
import { checkSignature, readCheckpoints, type Checkpoint } from './checkpoint';
import { GENESIS_HASH, chainHash, occurredAtText, type ChainedFields } from './chain';
import type { VerifyKey } from './signing';

export const PROBLEM_KINDS = [
	'missing_events',
	'broken_link',
	'altered_event',
	'checkpoint_mismatch',
	'chain_behind_checkpoint',
	'checkpoint_missing',
	'checkpoint_replaced',
	'checkpoint_copied',
	'checkpoint_forged',
	'checkpoint_unknown_key',
	'checkpoint_unreadable',
	'tail_missing',
	'head_mismatch',
	'stray_events',
	'time_reversed',
	'time_out_of_range'
] as const;
export type ProblemKind = (typeof PROBLEM_KINDS)[number];

export interface VerifyProblem {
	kind: ProblemKind;
	/** The event the problem is found at, when there is one. */
	seq: number | null;
	/** The last event of a range of missing events (from `seq` to this). */
	toSeq?: number;
	objectKey?: string;
	message: string;
}

export interface VerifyReport {
	ok: boolean;
	events: number;
	headSeq: number;
	headHash: string;
	checkpoints: number;
	latestCheckpoint: { seq: number; time: string; keyId: string } | null;
	firstFailure: VerifyProblem | null;
	problems: VerifyProblem[];
	/** More problems were found than are listed. */
	truncated: boolean;
	durationMs: number;
}

const MAX_PROBLEMS = 1000;

/**
 * The earliest time an event can carry: the log began long after it. Times are hashed as text
 * without an era, so an event moved to the same date BC (or any time before this) would keep
 * its hash; it is reported instead.
 */
const EARLIEST = '2000-01-01T00:00:00Z';
/** How far ahead of the verifying database's clock an event may be dated (instances' skew). */
const AHEAD_ALLOWED = '1 hour';

const isRecord = (value: unknown): value is Record<string, unknown> =>
	value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * Reads the whole log back from the database in sequence order, a batch at a time (bounded
 * memory at any size), recomputes every hash and checks the chain against every signed
 * checkpoint in the object store and against the chain head (`audit_head`).
 *
 * One verification covers the log as it stood when it started: the head is read first, then the
 * checkpoint objects are listed, and only the events up to that head are read. Events appended
 * meanwhile (a periodic checkpoint and its `audit.checkpoint_written` record among them) are left
 * to the next verification, so a checkpoint written during the run is never reported missing. A
 * checkpoint signed after the head was read but before the listing is checked against the row it
 * names, without verifying the events between the head and that row.
 */
export async function verifyChain(options: {
	db: Database;
	store: ObjectStore;
	keys: readonly VerifyKey[];
	batchSize?: number;
}): Promise<VerifyReport> {
	const started = performance.now();
	const { db, store, keys } = options;
	const batchSize = options.batchSize ?? 10_000;
	const problems: VerifyProblem[] = [];
	let found = 0;
	const report = (problem: VerifyProblem) => {
		found += 1;
		if (problems.length < MAX_PROBLEMS) problems.push(problem);
	};

	// The head and the newest event, in one statement (one snapshot), before the checkpoints are
	// listed: every `audit.checkpoint_written` event up to it was committed after its object was
	// written, so that object is in the listing unless it was deleted. `audit_head` moves in the
	// transaction that inserts the events, so normally both say the same; the bound is the larger,
	// so rows beyond a head that lags (rows inserted around it) are still verified.
	const [start] = await queryRows<{ headSeq: unknown; headHash: string | null; maxSeq: unknown }>(
		db,
		sql`select h.seq as "headSeq", h.hash as "headHash",
				(select max(seq) from audit_event) as "maxSeq"
			from (select 1) as one left join audit_head h on h.id = 1`
	);
	const head =
		start?.headSeq === null || start?.headSeq === undefined
			? null
			: { seq: toNumber(start.headSeq), hash: start.headHash ?? '' };
	const maxSeq = start?.maxSeq === null || start?.maxSeq === undefined ? 0 : toNumber(start.maxSeq);
	const bound = Math.max(head?.seq ?? 0, maxSeq);
	if (!head) {
		report({
			kind: 'head_mismatch',
			seq: null,
			message:
				'the chain head (audit_head) is missing: it was deleted, and no event can be appended'
		});
	}

	const stored = await readCheckpoints(store);
	const objectKeys = new Set(stored.map((s) => s.objectKey));
	const valid: { objectKey: string; checkpoint: Checkpoint }[] = [];
	for (const entry of stored) {
		if (!('checkpoint' in entry)) {
			report({
				kind: 'checkpoint_unreadable',
				seq: null,
				objectKey: entry.objectKey,
				message: `checkpoint object ${entry.objectKey} cannot be read: ${entry.unreadable}`
			});
			continue;
		}
		const { checkpoint, objectKey } = entry;
		const check = checkSignature(checkpoint, keys);
		if (check === 'valid') valid.push(entry);
		else
			report({
				kind: check === 'invalid' ? 'checkpoint_forged' : 'checkpoint_unknown_key',
				seq: checkpoint.seq,
				objectKey,
				message:
					check === 'invalid'
						? `checkpoint at event ${checkpoint.seq} has a signature that does not verify with key ${checkpoint.keyId}`
						: `checkpoint at event ${checkpoint.seq} is signed with unknown key ${checkpoint.keyId}`
			});
	}
	const bySeq = new Map<number, { objectKey: string; checkpoint: Checkpoint }[]>();
	const byKey = new Map<string, Checkpoint>();
	// Each checkpoint is signed once and written once: the same signature under a second key is
	// a copy (two instances checkpointing the same head sign different times).
	const bySignature = new Map<string, string>();
	for (const entry of valid) {
		const list = bySeq.get(entry.checkpoint.seq) ?? [];
		list.push(entry);
		bySeq.set(entry.checkpoint.seq, list);
		byKey.set(entry.objectKey, entry.checkpoint);
		// By the signature's bytes: the same signature written another way (base64 without its
		// padding) still verifies, and is still a copy.
		const bytes = Buffer.from(entry.checkpoint.signature, 'base64').toString('hex');
		const original = bySignature.get(bytes);
		if (original === undefined) bySignature.set(bytes, entry.objectKey);
		else
			report({
				kind: 'checkpoint_copied',
				seq: entry.checkpoint.seq,
				objectKey: entry.objectKey,
				message: `checkpoint object ${entry.objectKey} is a copy of ${original} (the checkpoint at event ${entry.checkpoint.seq}): a checkpoint object was replaced or added`
			});
	}
	const matched = new Set<number>();

	let expectedSeq = 1;
	let prevHash = GENESIS_HASH;
	let events = 0;
	let last = 0;
	let hashAtHead: string | undefined;
	let previousTime = '';
	type StoredRow = ChainedFields & { prevHash: string; hash: string } & Record<string, unknown>;
	// Plain SQL rather than the query builder: its per-field mapping costs more than the hashing
	// at a million rows. Both drivers return the same values (jsonb and text[] parsed, int8 as
	// text or BigInt, which the loop turns into a number).
	const fetchAfter = (after: number): Promise<StoredRow[]> =>
		queryRows<StoredRow>(
			db,
			sql`select seq, ${occurredAtText} as "occurredAt", actor_id as "actorId",
				actor_name as "actorName", actor_roles as "actorRoles", ip, user_agent as "userAgent",
				request_id as "requestId", action, target_type as "targetType", target_id as "targetId",
				outcome, details, prev_hash as "prevHash", hash,
				details ->> 'documentId' as "documentIdText",
				occurred_at < ${EARLIEST}::timestamptz
					or occurred_at > clock_timestamp() + ${AHEAD_ALLOWED}::interval as "outOfRange"
			from audit_event where seq > ${after} and seq <= ${bound} order by seq limit ${batchSize}`
		);
	// The next batch is read while this one is hashed: only two batches are ever held.
	let pending: Promise<StoredRow[]> | null = bound > 0 ? fetchAfter(0) : null;
	while (pending) {
		const rows: StoredRow[] = await pending;
		const lastRead = rows.length === batchSize ? Number(rows.at(-1)!.seq) : bound;
		pending = lastRead < bound ? fetchAfter(lastRead) : null;
		for (const row of rows) {
			const seq = (row.seq = Number(row.seq));
			// A second row with a sequence number already read (its unique key dropped): not part
			// of the chain; counted and named below with the others outside it.
			if (seq < expectedSeq) continue;
			const gap = seq !== expectedSeq;
			if (gap) {
				report({
					kind: 'missing_events',
					seq: expectedSeq,
					toSeq: seq - 1,
					message:
						seq === expectedSeq + 1
							? `event ${expectedSeq} is missing`
							: `events ${expectedSeq} to ${seq - 1} are missing`
				});
			}
			if (row.prevHash !== prevHash && !gap) {
				report({
					kind: 'broken_link',
					seq,
					message: `event ${seq} does not link to event ${seq - 1}: one of them or its hash was changed`
				});
			}
			let hash: string | null;
			try {
				hash = chainHash(row.prevHash, row);
			} catch (error) {
				// A value no append could have written (a number beyond float range, nesting
				// deeper than the stack): named here rather than ending the whole verification.
				hash = null;
				report({
					kind: 'altered_event',
					seq,
					message: `event ${seq} cannot be hashed (${(error as Error).message}): its contents were changed`
				});
			}
			if (row.outOfRange) {
				report({
					kind: 'time_out_of_range',
					seq,
					message: `event ${seq} is dated ${row.occurredAt}, outside the time the log can have been written (before 2000, BC, or ahead of the database's clock): its time was changed`
				});
			}
			if (row.occurredAt < previousTime) {
				report({
					kind: 'time_reversed',
					seq,
					message: `event ${seq} is dated ${row.occurredAt}, before event ${last} (${previousTime}): times only go forward as events are appended, so one of them was changed`
				});
			}
			previousTime = row.occurredAt;
			if (hash !== null && hash !== row.hash) {
				report({
					kind: 'altered_event',
					seq,
					message: `event ${seq} does not match its hash: its contents or its hash were changed, or it was written with a wrong hash`
				});
			} else if (
				hash !== null &&
				isRecord(row.details) &&
				typeof row.details.documentId === 'number' &&
				row.documentIdText !== String(row.details.documentId)
			) {
				// The hash covers the values as parsed, and jsonb keeps a number's written form
				// (5.0 is 5): a rewritten form leaves the hash intact but hides the event from the
				// auditor's document history, which finds events by that text (and its index).
				report({
					kind: 'altered_event',
					seq,
					message: `event ${seq} has its document id rewritten as ${String(row.documentIdText)}: it no longer shows in that document's history`
				});
			}
			for (const { checkpoint, objectKey } of bySeq.get(seq) ?? []) {
				matched.add(seq);
				if (checkpoint.hash !== row.hash) {
					report({
						kind: 'checkpoint_mismatch',
						seq,
						objectKey,
						message: `event ${seq} differs from the signed checkpoint of ${checkpoint.time}: the log was rewritten`
					});
				}
			}
			// Details altered to something else than an object are reported above (altered_event).
			if (row.action === 'audit.checkpoint_written' && isRecord(row.details)) {
				const key = row.details.objectKey;
				if (typeof key === 'string' && !objectKeys.has(key)) {
					report({
						kind: 'checkpoint_missing',
						seq,
						objectKey: key,
						message: `the checkpoint recorded by event ${seq} (${key}) is missing from the object store`
					});
				}
				// The object must still be the checkpoint the event recorded: another valid
				// checkpoint copied over it (an earlier one, from before a rewrite) is named here.
				const held = typeof key === 'string' ? byKey.get(key) : undefined;
				if (
					held &&
					(held.seq !== row.details.checkpointSeq ||
						held.hash !== row.details.checkpointHash ||
						held.keyId !== row.details.keyId)
				) {
					report({
						kind: 'checkpoint_replaced',
						seq,
						objectKey: key as string,
						message: `the checkpoint object ${String(key)} recorded by event ${seq} no longer holds the checkpoint of event ${String(row.details.checkpointSeq)} it recorded but one of event ${held.seq}: it was replaced`
					});
				}
			}
			if (seq === head?.seq) hashAtHead = row.hash;
			prevHash = row.hash;
			expectedSeq = seq + 1;
			last = seq;
			events += 1;
		}
	}

	// Rows outside the chain: the walk reads sequence numbers 1 and up, one row each. A row at
	// 0 or below, or a second row at a number already read (its unique key dropped), was
	// inserted rather than appended; it still shows in the log's pages and exports.
	// Sequence numbers are unique while the table's unique key on them stands (the index scan
	// below is then enough); without it every number is counted.
	const [unique] = await queryRows<{ held: boolean }>(
		db,
		sql`select exists (
			select 1 from pg_index i
			join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
			where i.indrelid = 'audit_event'::regclass and i.indisunique and i.indisvalid
				and i.indnatts = 1 and a.attname = 'seq'
		) as held`
	);
	if (!unique?.held) {
		report({
			kind: 'stray_events',
			seq: null,
			message:
				'the unique key on the sequence numbers was dropped: events can share a number, and the log was tampered with'
		});
	}
	const strays = await queryRows<{ seq: unknown; rows: unknown }>(
		db,
		unique?.held
			? sql`select seq, count(*) as rows from audit_event where seq <= 0
				group by seq order by seq limit 100`
			: sql`select seq, count(*) as rows from audit_event where seq <= ${bound}
				group by seq having seq <= 0 or count(*) > 1 order by seq limit 100`
	);
	for (const stray of strays) {
		const seq = toNumber(stray.seq);
		const rows = toNumber(stray.rows);
		report({
			kind: 'stray_events',
			seq,
			message:
				seq <= 0
					? `${rows === 1 ? 'an event' : `${rows} events`} at sequence number ${seq}, outside the chain (which begins at 1): inserted, not appended`
					: `${rows} events share sequence number ${seq}: all but one were inserted, not appended`
		});
	}

	// Checkpoints signed after the head was read name events this run did not read: each is
	// checked against the row it names, as it stands now.
	const beyond = [...bySeq.keys()].filter((seq) => seq > bound);
	const hashesBeyond = new Map<number, string>();
	if (beyond.length > 0) {
		const rows = await queryRows<{ seq: unknown; hash: string }>(
			db,
			sql`select seq, hash from audit_event
				where seq in (${sql.join(
					beyond.map((seq) => sql`${seq}`),
					sql`, `
				)})`
		);
		for (const row of rows) hashesBeyond.set(toNumber(row.seq), row.hash);
	}
	for (const seq of beyond) {
		const hash = hashesBeyond.get(seq);
		if (hash === undefined) continue;
		matched.add(seq);
		for (const { checkpoint, objectKey } of bySeq.get(seq)!) {
			if (checkpoint.hash !== hash) {
				report({
					kind: 'checkpoint_mismatch',
					seq,
					objectKey,
					message: `event ${seq} differs from the signed checkpoint of ${checkpoint.time}: the log was rewritten`
				});
			}
		}
	}

	for (const [seq, entries] of bySeq) {
		if (matched.has(seq)) continue;
		for (const { checkpoint, objectKey } of entries) {
			report(
				seq > last
					? {
							kind: 'chain_behind_checkpoint',
							seq,
							objectKey,
							message: `the log ends at event ${last} but a checkpoint of ${checkpoint.time} signed event ${seq}: events were deleted from the end or the database was rewound`
						}
					: {
							kind: 'checkpoint_mismatch',
							seq,
							objectKey,
							message: `event ${seq}, signed by the checkpoint of ${checkpoint.time}, is not in the log`
						}
			);
		}
	}

	// The head names the last event appended and its hash. Events deleted from the end (with
	// the triggers switched off) leave the head ahead of the log; a tail rewritten with
	// recomputed hashes leaves the head's hash different. Someone who also moves the head back
	// is caught only by a checkpoint signed after the deleted events (chain_behind_checkpoint).
	if (head && head.seq > last) {
		report({
			kind: 'tail_missing',
			seq: last + 1,
			toSeq: head.seq,
			message:
				head.seq === last + 1
					? `event ${head.seq}, the last one appended, is missing: the end of the log was deleted`
					: `events ${last + 1} to ${head.seq} are missing from the end of the log (the last one appended is ${head.seq}): they were deleted`
		});
	} else if (head && hashAtHead !== undefined && hashAtHead !== head.hash) {
		report({
			kind: 'head_mismatch',
			seq: head.seq,
			message: `event ${head.seq}, the last one appended, does not have the hash recorded when it was appended: the end of the log was rewritten`
		});
	}

	problems.sort((a, b) => (a.seq ?? Number.MAX_SAFE_INTEGER) - (b.seq ?? Number.MAX_SAFE_INTEGER));
	const latest = valid.at(-1)?.checkpoint ?? null;
	return {
		ok: found === 0,
		events,
		headSeq: last,
		headHash: prevHash,
		checkpoints: valid.length,
		latestCheckpoint: latest ? { seq: latest.seq, time: latest.time, keyId: latest.keyId } : null,
		firstFailure: problems[0] ?? null,
		problems,
		truncated: found > problems.length,
		durationMs: Math.round(performance.now() - started)
	};
}
