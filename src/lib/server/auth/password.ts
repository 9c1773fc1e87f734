import { randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';

// OWASP's argon2id minimum: m=19 MiB, t=2, p=1. Algorithm 2 is argon2id.
const OPTIONS = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export async function hashPassword(password: string): Promise<string> {
	return hash(password, OPTIONS);
}

/** How long a check has been taking (a moving average over the recent ones), in ms. */
let typicalCheckMs = 0;

export async function verifyPasswordHash(passwordHash: string, password: string): Promise<boolean> {
	const started = performance.now();
	try {
		return await verify(passwordHash, password);
	} catch {
		return false;
	} finally {
		const took = performance.now() - started;
		typicalCheckMs = typicalCheckMs === 0 ? took : typicalCheckMs * 0.9 + took * 0.1;
	}
}

/**
 * Takes about as long as a password check, without doing one: the answer to an attempt the
 * throttle refused. Such attempts used to run argon2 on the dummy hash, so that one address
 * locked out could still keep the hashing threads busy without end and slow every other
 * sign-in (and page) down. A refused attempt tests no hash either way, so nothing is learnt
 * from its timing but that it was refused, which its answer never says and the lock itself
 * implies.
 */
export async function waitLikeACheck(): Promise<void> {
	if (typicalCheckMs === 0) {
		await verifyPasswordHash(await dummyPasswordHash(), '');
		return;
	}
	await new Promise((resolve) => setTimeout(resolve, typicalCheckMs));
}

let dummyHash: Promise<string> | undefined;

/**
 * A hash of a random password, verified when there is no real hash to check (an unknown or
 * disabled account), so that it costs the same argon2 work as a wrong password and never tests
 * the real one.
 */
export function dummyPasswordHash(): Promise<string> {
	dummyHash ??= hashPassword(randomBytes(18).toString('base64'));
	return dummyHash;
}
