import { sha256 } from '@oslojs/crypto/sha2';
import { encodeHexLowerCase } from '@oslojs/encoding';
import { eq, sql, type SQL } from 'drizzle-orm';
import type { Executor } from '../db';
import { throttle } from '../db/schema';

/**
 * Failed-attempt counters in PostgreSQL, so every app instance sees the same ones. After a
 * number of free failures each further failure locks the key for twice as long as the last
 * (2 s, 4 s, 8 s … at most 15 minutes). Callers never tell a person that a key is locked:
 * a locked attempt fails with the usual message after the usual work.
 *
 * An attempt is counted BEFORE it is checked (`reserve`), by one statement per key that
 * PostgreSQL runs under the key's row lock, and only a success gives its count back
 * (`clear`, `release`). Checking first and counting after the slow argon2 or code check would
 * let any number of attempts sent at once all be checked before the first failure is written;
 * counted first, at most `free + 1` of them are checked before the lock, however many arrive
 * together, and one more each time a lock runs out.
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
	/**
	 * Second-factor guesses per account: one budget shared by all of the account's waiting
	 * sessions and every address, which only a second factor accepted for the account gives
	 * back. A correct password does not: it opens a new waiting session, never new guesses.
	 */
	mfa: (accountId: number): ThrottleKey => ({ key: `mfa:${accountId}`, free: 5 }),
	/** Guesses of the current password by a signed-in person (before a sensitive change). */
	reauth: (accountId: number): ThrottleKey => ({ key: `reauth:${accountId}`, free: 5 })
};

/** One attempt counted on a key, and the lock it set there (null when it set none). */
interface Taken {
	key: string;
	lockedUntil: Date | null;
}

/**
 * What `reserve` did: `permitted` when no key was locked, the attempt now counted on each;
 * otherwise the attempt was refused and counted nowhere.
 */
export interface Reservation {
	permitted: boolean;
	taken: Taken[];
}

/**
 * Counts an attempt on one key unless the key is locked: the insert or the conditional update
 * of its row is one statement, so attempts at once queue on the row and each sees the count
 * and lock the previous one left. The lock is set by the count alone, as if the attempt fails
 * (a success gives it back); null when the key was locked and nothing was counted.
 */
async function take(
	executor: Executor,
	{ key, free }: ThrottleKey,
	now: Date
): Promise<Taken | null> {
	// ISO strings: postgres.js does not bind a Date inside raw SQL.
	const at = now.toISOString();
	const forgetBefore = new Date(now.getTime() - FORGET_AFTER_SECONDS * 1000).toISOString();
	const lockAfter = (count: SQL) => sql`(case when ${count} > ${free}
		then ${at}::timestamptz + least(power(2, ${count} - ${free}), ${MAX_LOCK_SECONDS}) * interval '1 second'
		else null end)`;
	const next = sql`(case when ${throttle.updatedAt} < ${forgetBefore}::timestamptz then 1 else ${throttle.failures} + 1 end)`;
	const [row] = await executor
		.insert(throttle)
		.values({ key, failures: 1, lockedUntil: lockAfter(sql`1`), updatedAt: now })
		.onConflictDoUpdate({
			target: throttle.key,
			set: { failures: next, lockedUntil: lockAfter(next), updatedAt: now },
			// A locked key is left as it is (attempts while locked do not extend the lock), and
			// then no row comes back.
			setWhere: sql`${throttle.lockedUntil} is null or ${throttle.lockedUntil} <= ${at}::timestamptz`
		})
		.returning({ lockedUntil: throttle.lockedUntil });
	return row ? { key, lockedUntil: row.lockedUntil } : null;
}

/**
 * Counts one attempt on every key before it is checked. Refused (and counted nowhere) when
 * any key is locked; the caller then fails the attempt without checking it. A permitted
 * attempt stays counted as a failure unless the caller gives it back on success.
 */
export async function reserve(
	executor: Executor,
	throttleKeys: ThrottleKey[],
	now: Date = new Date()
): Promise<Reservation> {
	const taken: Taken[] = [];
	for (const throttleKey of throttleKeys) {
		const one = await take(executor, throttleKey, now);
		if (!one) {
			await release(executor, { permitted: false, taken });
			return { permitted: false, taken: [] };
		}
		taken.push(one);
	}
	return { permitted: true, taken };
}

/**
 * Gives back what a reservation counted on the given keys (all by default): the count goes
 * down by one and the lock the reservation set, if it is still the current one, is lifted.
 * For a success that must not clear a key others share (an IP), or an attempt that was not
 * a guess after all.
 */
export async function release(
	executor: Executor,
	reservation: Reservation,
	only?: ThrottleKey[]
): Promise<void> {
	for (const { key, lockedUntil } of reservation.taken) {
		if (only && !only.some((k) => k.key === key)) continue;
		const ours = lockedUntil
			? sql`(case when ${throttle.lockedUntil} = ${lockedUntil.toISOString()}::timestamptz then null else ${throttle.lockedUntil} end)`
			: sql`${throttle.lockedUntil}`;
		await executor
			.update(throttle)
			.set({ failures: sql`greatest(${throttle.failures} - 1, 0)`, lockedUntil: ours })
			.where(eq(throttle.key, key));
	}
}

/** A success clears the counters of the person (not of the IP, shared by others). */
export async function clear(executor: Executor, throttleKeys: ThrottleKey[]): Promise<void> {
	for (const { key } of throttleKeys) {
		await executor.delete(throttle).where(eq(throttle.key, key));
	}
}
