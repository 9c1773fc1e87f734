import * as background from '../background';
import { getConfig } from '../config';
import { getDb } from '../db';
import { log } from '../log';
import { getObjectStore } from '../storage';
import type { AuditContext } from './append';
import { checkpointDue, writeCheckpoint } from './checkpoint';
import { loadPublicKey, loadSigningKey, type SigningKey, type VerifyKey } from './signing';
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

let cachedVerify: { source: unknown; keys: VerifyKey[] } | undefined;

/**
 * The keys verification trusts: the public keys pinned in `AUDIT_VERIFY_KEYS` when set (a
 * signing key swapped for another under the same id then signs checkpoints that fail), else
 * the public halves of the signing keys.
 */
export function verifyingKeys(): VerifyKey[] {
	const source = getConfig().auditVerifyKeys;
	if (!source) return signingKeys();
	if (cachedVerify === undefined || cachedVerify.source !== source) {
		cachedVerify = { source, keys: source.map(loadPublicKey) };
	}
	return cachedVerify.keys;
}

/** Verifies the process-wide log against the process-wide checkpoint store. */
export function verifyLog(): Promise<VerifyReport> {
	return verifyChain({ db: getDb(), store: getObjectStore(), keys: verifyingKeys() });
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
