import { randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';

// OWASP's argon2id minimum: m=19 MiB, t=2, p=1. Algorithm 2 is argon2id.
const OPTIONS = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export async function hashPassword(password: string): Promise<string> {
	return hash(password, OPTIONS);
}

export async function verifyPasswordHash(passwordHash: string, password: string): Promise<boolean> {
	try {
		return await verify(passwordHash, password);
	} catch {
		return false;
	}
}

let dummyHash: Promise<string> | undefined;

/**
 * A hash of a random password, verified when there is no real hash to check (an unknown or
 * disabled account, a throttled attempt), so that it costs the same argon2 work as a wrong
 * password and never tests the real one.
 */
export function dummyPasswordHash(): Promise<string> {
	dummyHash ??= hashPassword(randomBytes(18).toString('base64'));
	return dummyHash;
}
