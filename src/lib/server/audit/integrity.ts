import * as background from '../background';
import { ConfigError, getConfig, type Config } from '../config';
import { getDb } from '../db';
import { log } from '../log';
import { getObjectStore } from '../storage';
import type { AuditContext } from './append';
import { checkpointDue, writeCheckpoint } from './checkpoint';
import {
	describeKeys,
	loadPublicKey,
	loadSigningKey,
	unpinnedSigner,
	type PublicKeyInfo,
	type SigningKey,
	type VerifyKey
} from './signing';
import { verifyChain, type VerifyReport } from './verify';

export type { PublicKeyInfo } from './signing';

let cached: { source: unknown; keys: SigningKey[] } | undefined;

/** The configured Ed25519 keys; the first signs new checkpoints, all verify old ones. */
export function signingKeys(): SigningKey[] {
	const source = getConfig().auditSigningKeys;
	if (cached === undefined || cached.source !== source) {
		cached = { source, keys: (source ?? []).map(loadSigningKey) };
	}
	return cached.keys;
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

export interface VerificationKeys {
	/** `pinned`: the public keys of `AUDIT_VERIFY_KEYS`; `signing`: derived from the signing seeds. */
	source: 'pinned' | 'signing';
	keys: PublicKeyInfo[];
}

/** The keys verification actually uses and where they come from, public halves only. */
export function verificationKeys(): VerificationKeys {
	return {
		source: getConfig().auditVerifyKeys ? 'pinned' : 'signing',
		keys: describeKeys(verifyingKeys(), signingKeys()[0])
	};
}

/**
 * Before anything is signed (start-up, `audit:verify --checkpoint`): with public keys pinned,
 * the key that signs new checkpoints must be one of them under its id, or every checkpoint it
 * signs would later be reported as forged (or as signed by an unknown key). Throws a ConfigError
 * naming the id and fingerprints, never a seed.
 */
export function assertSigningKeyPinned(
	config: Pick<Config, 'auditSigningKeys' | 'auditVerifyKeys'>
): void {
	const first = config.auditSigningKeys?.[0];
	if (!first || !config.auditVerifyKeys) return;
	const problem = unpinnedSigner(loadSigningKey(first), config.auditVerifyKeys.map(loadPublicKey));
	if (problem) throw new ConfigError([{ variable: 'AUDIT_VERIFY_KEYS', message: problem }]);
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
