import { generateHOTP } from '@oslojs/otp';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
	auditFor,
	createAccount,
	createAuthFixture,
	currentCode,
	type AuthFixture,
	type TestAccount
} from '../../../../tests/helpers/auth-fixture';
import { account, session } from '../db/schema';
import * as selfService from './self-service';
import * as sessions from './sessions';
import * as signIn from './sign-in';
import { stepAt } from './totp';
import type { SessionUser } from './types';

/** Every hash argon2 is asked to check, in order: which attempts actually tested a password. */
const checkedHashes = vi.hoisted(() => [] as string[]);
/** When set, the next check of this hash waits for `release` after argon2 has answered. */
const pause = vi.hoisted(() => ({ hash: null as string | null, release: Promise.resolve() }));

vi.mock('./password', async (importOriginal) => {
	const real = await importOriginal<typeof import('./password')>();
	return {
		...real,
		verifyPasswordHash: async (hash: string, password: string) => {
			checkedHashes.push(hash);
			const ok = await real.verifyPasswordHash(hash, password);
			if (hash === pause.hash) {
				pause.hash = null;
				await pause.release;
			}
			return ok;
		}
	};
});

let fixture: AuthFixture;
beforeAll(async () => {
	fixture = await createAuthFixture({ MFA_REQUIRED_FOR_ALL: 'true' });
});
afterAll(async () => {
	await fixture?.close();
});

const context: signIn.SignInContext = { ip: null, userAgent: 'vitest', requestId: 'burst' };

async function storedHash(person: TestAccount): Promise<string> {
	const [row] = await fixture.db
		.select({ hash: account.passwordHash })
		.from(account)
		.where(eq(account.id, person.id));
	return row!.hash!;
}

async function reasons(person: TestAccount, action: string): Promise<unknown[]> {
	return (await auditFor(fixture.db, person.id))
		.filter((e) => e.action === action && e.outcome === 'failed')
		.map((e) => e.details.reason);
}

const count = (values: unknown[], value: unknown) => values.filter((v) => v === value).length;

/** Six-digit codes none of which is valid around `at` (three steps either side). */
function wrongCodes(secret: Uint8Array, at: Date, n: number): string[] {
	const step = stepAt(at);
	const window = new Set(
		[-3, -2, -1, 0, 1, 2, 3].map((d) => generateHOTP(secret, BigInt(step + d), 6))
	);
	const codes: string[] = [];
	for (let guess = 100000; codes.length < n; guess++) {
		if (!window.has(String(guess))) codes.push(String(guess));
	}
	return codes;
}

// The free failures of throttle.keys (5) and the one that starts the first lock.
const CHECKED_BEFORE_LOCK = 6;

describe('attempts sent at once', () => {
	it('check at most six of twenty wrong passwords for one email; the rest are refused unchecked', async () => {
		const person = await createAccount(fixture);
		const hash = await storedHash(person);
		const here = { ...context, ip: '203.0.113.60' };
		const now = new Date(Date.now() + 1000);
		checkedHashes.length = 0;

		const results = await Promise.all(
			Array.from({ length: 20 }, (_, i) =>
				signIn.passwordStep({ email: person.email, password: `guess ${i}` }, here, { now })
			)
		);
		expect(results.every((r) => r.kind === 'failed')).toBe(true);
		// Only six cost argon2 work, each on the real hash: the refused ones checked no hash at
		// all (a locked-out address cannot keep the hashing threads busy).
		expect(checkedHashes).toHaveLength(CHECKED_BEFORE_LOCK);
		expect(count(checkedHashes, hash)).toBe(CHECKED_BEFORE_LOCK);
		const failed = await reasons(person, 'auth.sign_in');
		expect(count(failed, 'wrong_password')).toBe(CHECKED_BEFORE_LOCK);
		expect(count(failed, 'throttled')).toBe(20 - CHECKED_BEFORE_LOCK);

		// Locked: the right password fails too, untested, until the lock runs out.
		checkedHashes.length = 0;
		expect(await signIn.passwordStep(person, here, { now })).toEqual({ kind: 'failed' });
		expect(checkedHashes).toHaveLength(0);
		const later = new Date(now.getTime() + 2_100);
		expect((await signIn.passwordStep(person, here, { now: later })).kind).toBe('second_factor');
	});

	it('check at most six of twenty wrong codes for one account, across its waiting sessions', async () => {
		const person = await createAccount(fixture);
		const here = { ...context, ip: '203.0.113.61' };
		const waiting = async () => {
			const result = await signIn.passwordStep(person, here);
			if (result.kind !== 'second_factor')
				throw new Error(`expected second factor: ${result.kind}`);
			return result.token;
		};
		const tokens = [await waiting(), await waiting()];
		const now = new Date();

		const results = await Promise.all(
			wrongCodes(person.totpSecret!, now, 20).map((code, i) =>
				signIn.secondFactorStep(tokens[i % 2], code, here, { now })
			)
		);
		expect(results.every((r) => r.kind === 'failed')).toBe(true);
		const failed = await reasons(person, 'auth.mfa');
		expect(count(failed, 'wrong_code')).toBe(CHECKED_BEFORE_LOCK);
		expect(count(failed, 'throttled')).toBe(20 - CHECKED_BEFORE_LOCK);

		// The password is right again: a new waiting session, but no new guesses at the code.
		const fresh = await waiting();
		const right = (at: Date) => generateHOTP(person.totpSecret!, BigInt(stepAt(at)), 6);
		expect(await signIn.secondFactorStep(fresh, right(now), here, { now })).toEqual({
			kind: 'failed'
		});
		const later = new Date(now.getTime() + 2_100);
		expect((await signIn.secondFactorStep(fresh, right(later), here, { now: later })).kind).toBe(
			'signed_in'
		);
	});

	it('check at most six of twenty wrong current passwords before a change', async () => {
		const person = await createAccount(fixture);
		const hash = await storedHash(person);
		const created = await sessions.create(fixture.db, { accountId: person.id, mfaVerified: true });
		const user = (await sessions.validate(fixture.db, created.token))!.user as SessionUser;
		const here = { ...context, ip: '203.0.113.62' };
		checkedHashes.length = 0;

		const results = await Promise.all(
			Array.from({ length: 20 }, (_, i) =>
				selfService.regenerateRecoveryCodes(user, { password: `guess ${i}`, factor: '' }, here)
			)
		);
		expect(results.every((r) => r.kind === 'problem')).toBe(true);
		expect(checkedHashes).toHaveLength(CHECKED_BEFORE_LOCK);
		expect(count(checkedHashes, hash)).toBe(CHECKED_BEFORE_LOCK);
		const failed = await reasons(person, 'auth.password_changed');
		expect(count(failed, 'wrong_current_password')).toBe(CHECKED_BEFORE_LOCK);
		expect(count(failed, 'throttled')).toBe(20 - CHECKED_BEFORE_LOCK);
	});
});

describe('a sign-in overlapping a change of the account', () => {
	it('opens no session once the password it checked has been changed meanwhile', async () => {
		const person = await createAccount(fixture);
		const oldHash = await storedHash(person);
		const mine = await sessions.create(fixture.db, { accountId: person.id, mfaVerified: true });
		const user = (await sessions.validate(fixture.db, mine.token))!.user as SessionUser;
		// Someone with the old password signs in; argon2 has said yes when the owner, elsewhere,
		// changes the password (which ends every session there is).
		let resume!: () => void;
		pause.hash = oldHash;
		pause.release = new Promise<void>((resolve) => (resume = resolve));
		checkedHashes.length = 0;
		const attempt = signIn.passwordStep(
			{ email: person.email, password: person.password },
			{ ...context, ip: '203.0.113.90' }
		);
		await vi.waitFor(() => expect(checkedHashes).toContain(oldHash), { timeout: 10_000 });
		const next = 'the owner changed it just now';
		const changed = await selfService.changePassword(
			user,
			mine.session.id,
			{ current: person.password, next, confirm: next, factor: currentCode(person.totpSecret!) },
			context
		);
		resume();
		expect(changed.kind).toBe('ok');
		expect(await attempt).toEqual({ kind: 'failed' });
		// The owner's renewed session is the only one.
		const live = await fixture.db.select().from(session).where(eq(session.accountId, person.id));
		const renewed = changed.kind === 'ok' ? changed.renewed?.session.id : undefined;
		expect(live.map((s) => s.id)).toEqual([renewed]);
		expect(await reasons(person, 'auth.sign_in')).toContain('account_changed');
	});
});
