import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { sql } from 'drizzle-orm';
import { queryRows, toNumber, type Database } from '../db';
import { auditEvent } from '../db/schema';
import type { ObjectStore } from '../storage';
import { appendAuditEvents, type AuditContext } from './append';
import { canonicalJson } from './canonical';
import { timeText } from './chain';
import { signMessage, verifyMessage, type SigningKey, type VerifyKey } from './signing';

export const CHECKPOINT_FORMAT = 'jiss-audit-checkpoint/1';

/** A signed statement "the chain had this head at this time", kept outside the database. */
export interface Checkpoint {
	format: typeof CHECKPOINT_FORMAT;
	seq: number;
	hash: string;
	time: string;
	keyId: string;
	signature: string;
}

export function checkpointMessage(c: Omit<Checkpoint, 'signature'>): string {
	return canonicalJson({
		format: c.format,
		seq: c.seq,
		hash: c.hash,
		time: c.time,
		keyId: c.keyId
	});
}

export type SignatureCheck = 'valid' | 'invalid' | 'unknown_key';

export function checkSignature(checkpoint: Checkpoint, keys: readonly VerifyKey[]): SignatureCheck {
	const key = keys.find((k) => k.id === checkpoint.keyId);
	if (!key) return 'unknown_key';
	return verifyMessage(key, checkpointMessage(checkpoint), checkpoint.signature)
		? 'valid'
		: 'invalid';
}

/** The committed head: read outside any transaction, so an uncommitted append is never signed. */
export async function readCommittedHead(
	db: Database
): Promise<{ seq: number; hash: string; time: string } | null> {
	const [row] = await queryRows<{ seq: unknown; hash: string; now: string }>(
		db,
		sql`select ${auditEvent.seq} as seq, ${auditEvent.hash} as hash,
				${timeText(sql`clock_timestamp()`)} as now
			from ${auditEvent} order by ${auditEvent.seq} desc limit 1`
	);
	return row ? { seq: toNumber(row.seq), hash: row.hash, time: row.now } : null;
}

/**
 * Signs the committed head with the first key and writes it to the object store, then records
 * `audit.checkpoint_written` in the chain. That event is what lets verification notice a
 * checkpoint object that was later deleted. Returns null when the log is empty.
 */
export async function writeCheckpoint(
	db: Database,
	store: ObjectStore,
	keys: readonly SigningKey[],
	context: AuditContext = {}
): Promise<{ checkpoint: Checkpoint; objectKey: string } | null> {
	const key = keys[0];
	if (!key) throw new Error('No audit signing key is configured');
	const head = await readCommittedHead(db);
	if (!head) return null;
	const unsigned = {
		format: CHECKPOINT_FORMAT,
		seq: head.seq,
		hash: head.hash,
		time: head.time,
		keyId: key.id
	} as const;
	const checkpoint: Checkpoint = {
		...unsigned,
		signature: signMessage(key, checkpointMessage(unsigned))
	};
	const body = Buffer.from(JSON.stringify(checkpoint, null, '\t') + '\n', 'utf8');
	const { key: objectKey } = await store.put('checkpoints', Readable.from([body]), {
		contentType: 'application/json',
		maxBytes: 64 * 1024
	});
	await appendAuditEvents(db, [
		{
			...context,
			action: 'audit.checkpoint_written',
			outcome: 'allowed',
			target: { type: 'checkpoint', id: objectKey },
			details: { checkpointSeq: head.seq, checkpointHash: head.hash, keyId: key.id, objectKey }
		}
	]);
	return { checkpoint, objectKey };
}

export type StoredCheckpoint =
	{ objectKey: string; checkpoint: Checkpoint } | { objectKey: string; unreadable: string };

function parseCheckpoint(raw: string): Checkpoint {
	const value = JSON.parse(raw) as Record<string, unknown>;
	if (
		value.format !== CHECKPOINT_FORMAT ||
		!Number.isSafeInteger(value.seq) ||
		typeof value.hash !== 'string' ||
		typeof value.time !== 'string' ||
		typeof value.keyId !== 'string' ||
		typeof value.signature !== 'string'
	) {
		throw new Error('not a checkpoint');
	}
	return value as unknown as Checkpoint;
}

/** Every object under the checkpoints/ prefix, in sequence order; bad ones are reported, not dropped. */
export async function readCheckpoints(store: ObjectStore): Promise<StoredCheckpoint[]> {
	const found: StoredCheckpoint[] = [];
	for await (const info of store.list('checkpoints/')) {
		try {
			const { body } = await store.get(info.key);
			found.push({ objectKey: info.key, checkpoint: parseCheckpoint(await text(body)) });
		} catch (error) {
			found.push({
				objectKey: info.key,
				unreadable: error instanceof Error ? error.message : String(error)
			});
		}
	}
	const seqOf = (c: StoredCheckpoint) => ('checkpoint' in c ? c.checkpoint.seq : -1);
	return found.sort((a, b) => seqOf(a) - seqOf(b));
}

/**
 * Where the previous checkpoint stands, from the chain itself (cheap: the action index). `seq`
 * is null when that record's details no longer hold the signed sequence number (the row was
 * altered, which verification reports); the periodic checkpoints carry on from `eventSeq`.
 */
export async function lastCheckpointRecorded(
	db: Database
): Promise<{ seq: number | null; eventSeq: number; time: Date } | null> {
	const [row] = await queryRows<{ seq: unknown; checkpoint_seq: unknown; occurred_at: unknown }>(
		db,
		sql`select ${auditEvent.seq} as seq, ${auditEvent.details} ->> 'checkpointSeq' as checkpoint_seq,
				${auditEvent.occurredAt} as occurred_at
			from ${auditEvent} where ${auditEvent.action} = 'audit.checkpoint_written'
			order by ${auditEvent.seq} desc limit 1`
	);
	if (!row) return null;
	const seq = row.checkpoint_seq === null ? Number.NaN : Number(row.checkpoint_seq);
	return {
		seq: Number.isSafeInteger(seq) ? seq : null,
		eventSeq: toNumber(row.seq),
		time: new Date(row.occurred_at as string | Date)
	};
}

/**
 * Whether a periodic checkpoint is due: something other than checkpoint records happened since
 * the last one, and either N events or M minutes have passed. Checkpoint events alone never
 * trigger another checkpoint, so an idle log stays quiet.
 */
export async function checkpointDue(
	db: Database,
	every: number,
	minutes: number,
	now = new Date()
): Promise<boolean> {
	const last = await lastCheckpointRecorded(db);
	const after = last?.eventSeq ?? 0;
	const [row] = await queryRows<{ pending: unknown }>(
		db,
		sql`select count(*) as pending from (
				select 1 from ${auditEvent}
				where ${auditEvent.seq} > ${after} and ${auditEvent.action} <> 'audit.checkpoint_written'
				limit ${every}
			) as p`
	);
	const pending = toNumber(row?.pending ?? 0);
	if (pending === 0) return false;
	if (!last) return true;
	return pending >= every || now.getTime() - last.time.getTime() >= minutes * 60_000;
}
