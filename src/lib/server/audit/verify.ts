import { sql } from 'drizzle-orm';
import { queryRows, type Database } from '../db';
import type { ObjectStore } from '../storage';
import { checkSignature, readCheckpoints, type Checkpoint } from './checkpoint';
import { GENESIS_HASH, chainHash, occurredAtText, type ChainedFields } from './chain';
import type { SigningKey } from './signing';

export const PROBLEM_KINDS = [
	'missing_events',
	'broken_link',
	'altered_event',
	'checkpoint_mismatch',
	'chain_behind_checkpoint',
	'checkpoint_missing',
	'checkpoint_forged',
	'checkpoint_unknown_key',
	'checkpoint_unreadable'
] as const;
export type ProblemKind = (typeof PROBLEM_KINDS)[number];

export interface VerifyProblem {
	kind: ProblemKind;
	/** The event the problem is found at, when there is one. */
	seq: number | null;
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
 * Reads the whole log back from the database in sequence order, a batch at a time (bounded
 * memory at any size), recomputes every hash and checks the chain against every signed
 * checkpoint in the object store. Nothing cached by the application is trusted.
 */
export async function verifyChain(options: {
	db: Database;
	store: ObjectStore;
	keys: readonly SigningKey[];
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
	for (const entry of valid) {
		const list = bySeq.get(entry.checkpoint.seq) ?? [];
		list.push(entry);
		bySeq.set(entry.checkpoint.seq, list);
	}
	const matched = new Set<number>();

	let expectedSeq = 1;
	let prevHash = GENESIS_HASH;
	let events = 0;
	let last = 0;
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
				outcome, details, prev_hash as "prevHash", hash
			from audit_event where seq > ${after} order by seq limit ${batchSize}`
		);
	// The next batch is read while this one is hashed: only two batches are ever held.
	let pending: Promise<StoredRow[]> | null = fetchAfter(0);
	while (pending) {
		const rows: StoredRow[] = await pending;
		pending = rows.length === batchSize ? fetchAfter(Number(rows.at(-1)!.seq)) : null;
		for (const row of rows) {
			const seq = (row.seq = Number(row.seq));
			const gap = seq !== expectedSeq;
			if (gap) {
				report({
					kind: 'missing_events',
					seq: expectedSeq,
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
			if (chainHash(row.prevHash, row) !== row.hash) {
				report({
					kind: 'altered_event',
					seq,
					message: `event ${seq} does not match its hash: its contents or its hash were changed`
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
			if (row.action === 'audit.checkpoint_written') {
				const key = row.details.objectKey;
				if (typeof key === 'string' && !objectKeys.has(key)) {
					report({
						kind: 'checkpoint_missing',
						seq,
						objectKey: key,
						message: `the checkpoint recorded by event ${seq} (${key}) is missing from the object store`
					});
				}
			}
			prevHash = row.hash;
			expectedSeq = seq + 1;
			last = seq;
			events += 1;
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
