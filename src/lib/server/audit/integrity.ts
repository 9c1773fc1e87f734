import * as background from '../background';
import { getConfig } from '../config';
import { getDb } from '../db';
import { log } from '../log';
import { getObjectStore } from '../storage';
import type { AuditContext } from './append';
import { checkpointDue, writeCheckpoint } from './checkpoint';
import { loadSigningKey, type SigningKey } from './signing';
import { verifyChain, type VerifyReport } from './verify';

let cached: { source: unknown; keys: SigningKey[] } | undefined;

/** The configured Ed25519 keys; the first signs new checkpoints, all verify old ones. */
export function signingKeys(): SigningKey[] {
	const source = getConfig().auditSigningKeys;
	if (cached === undefined || cached.source !== source) {
		cached = { source, keys: (source ?? []).map(loadSigningKey) };
	}
	return cached.keys;
}

export interface PublicKeyInfo {
	id: string;
	publicKey: string;
	fingerprint: string;
	signsNew: boolean;
}

export function publicKeys(): PublicKeyInfo[] {
	return signingKeys().map((k, i) => ({
		id: k.id,
		publicKey: k.publicKeyBase64,
		fingerprint: k.fingerprint,
		signsNew: i === 0
	}));
}

/** Verifies the process-wide log against the process-wide checkpoint store. */
export function verifyLog(): Promise<VerifyReport> {
	return verifyChain({ db: getDb(), store: getObjectStore(), keys: signingKeys() });
}

/** A checkpoint on demand (CLI, operator); returns the signed sequence number or null if empty. */
export async function checkpointNow(context: AuditContext = {}): Promise<number | null> {
	const written = await writeCheckpoint(getDb(), getObjectStore(), signingKeys(), context);
	return written?.checkpoint.seq ?? null;
}

/**
 * Periodic checkpoints: every few seconds, a checkpoint is written when N events or M minutes
 * have passed since the last one (config). Several instances may both write one; a duplicate
 * checkpoint is harmless. Returns a stop function.
 */
export function startCheckpoints(pollMs = 15_000): () => void {
	const { checkpointEvery, checkpointMinutes } = getConfig().audit;
	let running = false;
	const tick = async () => {
		if (running) return;
		running = true;
		try {
			if (await checkpointDue(getDb(), checkpointEvery, checkpointMinutes)) await checkpointNow();
		} catch (error) {
			log.error({ err: error }, 'audit checkpoint failed');
		} finally {
			running = false;
		}
	};
	const timer = setInterval(
		() => void background.track(tick()),
		Math.min(pollMs, checkpointMinutes * 60_000)
	);
	timer.unref();
	void background.track(tick());
	return () => clearInterval(timer);
}
