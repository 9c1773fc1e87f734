import { sha256 } from '@oslojs/crypto/sha2';
import { encodeHexLowerCase } from '@oslojs/encoding';
import { and, eq, gt, inArray, sql } from 'drizzle-orm';
import type { Executor } from '../db';
import { throttle } from '../db/schema';

/**
 * Failed-attempt counters in PostgreSQL, so every app instance sees the same ones. After a
 * number of free failures each further failure locks the key for twice as long as the last
 * (2 s, 4 s, 8 s … at most 15 minutes). Callers never tell a person that a key is locked:
 * a locked attempt fails with the usual message after the usual work.
 */

export interface ThrottleKey {
	key: string;
	/** Failures allowed before delays start. */
	free: number;
}

const MAX_LOCK_SECONDS = 15 * 60;
/** A counter untouched this long starts again from zero. */
const FORGET_AFTER_SECONDS = 60 * 60;

// Hashed so that email addresses typed by strangers (or by mistake) are not kept in clear.
function digest(value: string): string {
	return encodeHexLowerCase(sha256(new TextEncoder().encode(value))).slice(0, 32);
}

export const keys = {
	/** Per email as typed (normalised), known or not: unknown addresses behave the same. */
	email: (email: string): ThrottleKey => ({ key: `email:${digest(email)}`, free: 5 }),
	/** Per client IP, with more room: several people may share an address. */
	ip: (ip: string | null): ThrottleKey => ({ key: `ip:${digest(ip ?? 'unknown')}`, free: 20 }),
	/** Second-factor guesses per account. */
	mfa: (accountId: number): ThrottleKey => ({ key: `mfa:${accountId}`, free: 5 })
};

export async function isLocked(
	executor: Executor,
	throttleKeys: ThrottleKey[],
	now: Date = new Date()
): Promise<boolean> {
	const rows = await executor
		.select({ key: throttle.key })
		.from(throttle)
		.where(
			and(
				inArray(
					throttle.key,
					throttleKeys.map((k) => k.key)
				),
				gt(throttle.lockedUntil, now)
			)
		)
		.limit(1);
	return rows.length > 0;
}

export async function recordFailure(
	executor: Executor,
	throttleKeys: ThrottleKey[],
	now: Date = new Date()
): Promise<void> {
	for (const { key, free } of throttleKeys) {
		// ISO strings: postgres.js does not bind a Date inside raw SQL.
		const forgetBefore = new Date(now.getTime() - FORGET_AFTER_SECONDS * 1000).toISOString();
		const next = sql`(case when ${throttle.updatedAt} < ${forgetBefore}::timestamptz then 1 else ${throttle.failures} + 1 end)`;
		await executor
			.insert(throttle)
			.values({ key, failures: 1, lockedUntil: null, updatedAt: now })
			.onConflictDoUpdate({
				target: throttle.key,
				set: {
					failures: next,
					lockedUntil: sql`(case when ${next} > ${free}
						then ${now.toISOString()}::timestamptz + least(power(2, ${next} - ${free}), ${MAX_LOCK_SECONDS}) * interval '1 second'
						else null end)`,
					updatedAt: now
				}
			});
	}
}

/** A success clears the counters of the person (not of the IP, shared by others). */
export async function clear(executor: Executor, throttleKeys: ThrottleKey[]): Promise<void> {
	for (const { key } of throttleKeys) {
		await executor.delete(throttle).where(eq(throttle.key, key));
	}
}
