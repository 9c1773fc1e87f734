import { randomBytes } from 'node:crypto';
import { hash } from '@node-rs/argon2';
import { encodeBase32UpperCaseNoPadding } from '@oslojs/encoding';
import { generateHOTP, generateTOTP } from '@oslojs/otp';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
	auditFor,
	createAccount,
	createAuthFixture,
	type AuthFixture,
	type TestAccount
} from '../../../../tests/helpers/auth-fixture';
import { queryRows } from '../db';
import { account } from '../db/schema';
import { verifyPasswordHash } from './password';
import * as recoveryCodes from './recovery-codes';
import * as selfService from './self-service';
import * as sessions from './sessions';
import * as signIn from './sign-in';
import { stepAt } from './totp';
import type { SessionUser } from './types';

let fixture: AuthFixture;
beforeAll(async () => {
	fixture = await createAuthFixture();
});
afterAll(async () => {
	await fixture?.close();
});

const context = { ip: '192.0.2.50', userAgent: 'vitest', requestId: 'r' };

async function signedIn(person: TestAccount, userAgent?: string) {
	const created = await sessions.create(fixture.db, {
		accountId: person.id,
		mfaVerified: true,
		userAgent
	});
	const valid = await sessions.validate(fixture.db, created.token);
	return { ...created, user: valid!.user as SessionUser };
}

/** The person's current authenticator code (of the current step). */
function currentCodeOf(person: TestAccount): string {
	return generateTOTP(person.totpSecret!, 30, 6);
}

/** Wrong second-factor codes in a row, as the account counts them. */
async function failuresOf(person: TestAccount): Promise<number> {
	const [row] = await fixture.db
		.select({ n: account.secondFactorFailures })
		.from(account)
		.where(eq(account.id, person.id));
	return row!.n;
}

/** A sign-in with the password, then this code. */
async function signInWith(person: TestAccount, code: string) {
	const pending = await signIn.passwordStep(person, { ...context, ip: '192.0.2.51' });
	if (pending.kind !== 'second_factor') throw new Error(`expected second factor: ${pending.kind}`);
	return signIn.secondFactorStep(pending.token, code, { ...context, ip: '192.0.2.51' });
}

/**
 * Codes of an authenticator, each of a later time step than the one before: the server takes
 * each step once per account, and accepts the steps either side of the current one (so up to
 * three codes at once).
 */
function codesOf(secret: Uint8Array): () => string {
	let last = -Infinity;
	return () => {
		last = Math.max(last + 1, stepAt(new Date()) - 1);
		return generateHOTP(secret, BigInt(last), 6);
	};
}

/**
 * A new authenticator for the person's current session, proved with a code from it and one of
 * the current second factors (`factor`).
 */
async function reenrolWithNewKey(
	person: TestAccount,
	here: Awaited<ReturnType<typeof signedIn>>,
	factor: string
) {
	const secret = new Uint8Array(randomBytes(20));
	const result = await selfService.reenrolTotp(
		here.user,
		{
			password: person.password,
			secret: encodeBase32UpperCaseNoPadding(secret),
			code: generateTOTP(secret, 30, 6),
			factor
		},
		context,
		here.session.id
	);
	return { secret, result };
}

describe('own sessions', () => {
	it('lists them with a device label and ends one, only of one’s own', async () => {
		const person = await createAccount(fixture);
		const other = await createAccount(fixture);
		const here = await signedIn(
			person,
			'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0 Safari/537.36'
		);
		const phone = await signedIn(
			person,
			'Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 Version/18.0 Mobile/15E148 Safari/604.1'
		);
		const theirs = await signedIn(other);

		const view = await selfService.overview(here.user, here.session.id);
		expect(view.sessions).toHaveLength(2);
		expect(view.sessions.find((s) => s.current)?.device).toBe('Chrome · Linux');
		expect(view.sessions.find((s) => !s.current)?.device).toBe('Safari · iOS');

		expect(await selfService.endSession(here.user, theirs.session.id, context)).toBe('not_found');
		expect(await selfService.endSession(here.user, 'not-an-id', context)).toBe('not_found');
		expect(await selfService.endSession(here.user, phone.session.id, context)).toBe('ok');
		expect(await sessions.validate(fixture.db, phone.token)).toBeNull();
		expect(await sessions.validate(fixture.db, theirs.token)).not.toBeNull();
		const actions = (await auditFor(fixture.db, person.id)).map((e) => e.action);
		expect(actions).toContain('auth.session_ended');
	});
});

describe('password change', () => {
	it('needs the current password, applies the policy and ends the other sessions', async () => {
		const person = await createAccount(fixture);
		const here = await signedIn(person);
		const elsewhere = await signedIn(person);
		const next = 'a brand new passphrase for me';

		expect(
			await selfService.changePassword(
				here.user,
				here.session.id,
				{ current: 'wrong', next, confirm: next, factor: currentCodeOf(person) },
				context
			)
		).toEqual({ kind: 'problem', problem: 'wrong_password' });
		expect(
			await selfService.changePassword(
				here.user,
				here.session.id,
				{ current: person.password, next: 'password', confirm: 'password', factor: '' },
				context
			)
		).toEqual({ kind: 'problem', problem: 'too_short' });
		expect(
			await selfService.changePassword(
				here.user,
				here.session.id,
				{ current: person.password, next, confirm: next + '!', factor: '' },
				context
			)
		).toEqual({ kind: 'problem', problem: 'mismatch' });

		const result = await selfService.changePassword(
			here.user,
			here.session.id,
			{ current: person.password, next, confirm: next, factor: currentCodeOf(person) },
			context
		);
		expect(result).toMatchObject({ kind: 'ok', sessionsEnded: 1 });
		expect(await sessions.validate(fixture.db, elsewhere.token)).toBeNull();
		expect(
			await signIn.passwordStep({ email: person.email, password: person.password }, context)
		).toEqual({ kind: 'failed' });
		expect((await signIn.passwordStep({ email: person.email, password: next }, context)).kind).toBe(
			'second_factor'
		);
	});

	it('throttles guesses of the current password', async () => {
		const person = await createAccount(fixture);
		const here = await signedIn(person);
		const factor = currentCodeOf(person);
		for (let i = 0; i < 6; i++) {
			await selfService.regenerateRecoveryCodes(
				here.user,
				{ password: `guess ${i}`, factor },
				context
			);
		}
		expect(
			await selfService.regenerateRecoveryCodes(
				here.user,
				{ password: person.password, factor },
				context
			)
		).toEqual({ kind: 'problem', problem: 'wrong_password' });
		// A wrong password tests no second factor: the code was neither used nor counted.
		expect(await failuresOf(person)).toBe(0);
		expect((await signInWith(person, factor)).kind).toBe('signed_in');
	});
});

const bySession = (a: Record<string, unknown>, b: Record<string, unknown>) =>
	String(a.session).localeCompare(String(b.session));

describe('sessions after a change of credentials', () => {
	it('a password change ends every session: the others for good, this one under a new token', async () => {
		const person = await createAccount(fixture);
		const here = await signedIn(person);
		const elsewhere = await signedIn(person);
		const waiting = await sessions.create(fixture.db, { accountId: person.id, mfaVerified: false });
		const next = 'another brand new passphrase';
		const result = await selfService.changePassword(
			here.user,
			here.session.id,
			{ current: person.password, next, confirm: next, factor: currentCodeOf(person) },
			context
		);
		if (result.kind !== 'ok' || !result.renewed) throw new Error('expected a renewed session');
		expect(result.sessionsEnded).toBe(2);

		// The old token of this browser is dead too; the new one is the same sign-in, not longer.
		expect(result.renewed.token).not.toBe(here.token);
		expect(await sessions.validate(fixture.db, here.token)).toBeNull();
		expect(await sessions.validate(fixture.db, elsewhere.token)).toBeNull();
		expect(await sessions.validate(fixture.db, waiting.token, { allowPending: true })).toBeNull();
		const renewed = await sessions.validate(fixture.db, result.renewed.token);
		expect(renewed?.user.id).toBe(person.id);
		expect(renewed?.session).toMatchObject({
			mfaVerified: true,
			createdAt: here.session.createdAt,
			absoluteExpiresAt: here.session.absoluteExpiresAt
		});

		const events = await auditFor(fixture.db, person.id);
		const ended = events.filter((e) => e.action === 'auth.session_ended');
		expect(ended.map((e) => e.details).sort(bySession)).toEqual(
			[
				{ session: here.session.id, by: 'password_change', replacedBy: result.renewed.session.id },
				{ session: elsewhere.session.id, by: 'password_change' },
				{ session: waiting.session.id, by: 'password_change' }
			].sort(bySession)
		);
		expect(ended.every((e) => e.actorId === person.id && e.outcome === 'allowed')).toBe(true);
		const changed = events.find(
			(e) => e.action === 'auth.password_changed' && e.outcome === 'allowed'
		);
		expect(changed?.details).toMatchObject({
			sessionsEnded: 2,
			session: result.renewed.session.id
		});
	});

	it('a new authenticator ends every other session, and keeps this one', async () => {
		const person = await createAccount(fixture);
		const here = await signedIn(person);
		const elsewhere = await signedIn(person);
		const waiting = await sessions.create(fixture.db, { accountId: person.id, mfaVerified: false });
		const { result } = await reenrolWithNewKey(person, here, currentCodeOf(person));
		expect(result).toEqual({ kind: 'ok' });
		expect(await sessions.validate(fixture.db, here.token)).not.toBeNull();
		expect(await sessions.validate(fixture.db, elsewhere.token)).toBeNull();
		expect(await sessions.validate(fixture.db, waiting.token, { allowPending: true })).toBeNull();
		const events = await auditFor(fixture.db, person.id);
		expect(
			events
				.filter((e) => e.action === 'auth.session_ended')
				.map((e) => e.details)
				.sort(bySession)
		).toEqual(
			[
				{ session: elsewhere.session.id, by: 'totp_change' },
				{ session: waiting.session.id, by: 'totp_change' }
			].sort(bySession)
		);
		expect(events.find((e) => e.action === 'auth.totp_enrolled')?.details).toMatchObject({
			sessionsEnded: 2
		});
	});
});

describe('authenticator and recovery codes', () => {
	it('replaces the authenticator after the password, a code from the new one and the current one', async () => {
		const person = await createAccount(fixture);
		const here = await signedIn(person);
		const secret = new Uint8Array(randomBytes(20));
		const text = encodeBase32UpperCaseNoPadding(secret);
		const current = codesOf(person.totpSecret!);
		const attempt = (password: string, code: string, factor: string) =>
			selfService.reenrolTotp(here.user, { password, secret: text, code, factor }, context);
		const newCode = () => generateTOTP(secret, 30, 6);
		const factor = current();
		expect(await attempt('wrong', newCode(), factor)).toEqual({
			kind: 'problem',
			problem: 'wrong_password'
		});
		expect(await attempt(person.password, generateTOTP(person.totpSecret!, 30, 6), factor)).toEqual(
			{ kind: 'problem', problem: 'wrong_code' }
		);
		// A wrong code is a failed second factor in the log, like one at sign-in.
		const failures = (await auditFor(fixture.db, person.id)).filter(
			(e) => e.action === 'auth.mfa' && e.outcome === 'failed'
		);
		expect(failures.map((e) => [e.actorId, e.details])).toEqual([
			[person.id, { method: 'totp', reason: 'wrong_code', purpose: 'reenrol_totp' }]
		]);
		// Neither used up the current code.
		expect(await attempt(person.password, newCode(), factor)).toEqual({ kind: 'ok' });
		const events = await auditFor(fixture.db, person.id);
		expect(events.find((e) => e.action === 'auth.totp_enrolled')?.details).toMatchObject({
			factor: 'totp'
		});
		expect(
			events.filter((e) => e.action === 'auth.mfa' && e.outcome === 'allowed').map((e) => e.details)
		).toEqual([{ method: 'totp', purpose: 'reenrol_totp', factor: 'current' }]);

		// The old authenticator no longer works; the new one does (on its next step).
		const pending = await signIn.passwordStep(person, context);
		if (pending.kind !== 'second_factor') throw new Error('expected second factor');
		expect(
			await signIn.secondFactorStep(pending.token, generateTOTP(person.totpSecret!, 30, 6), context)
		).toEqual({ kind: 'failed' });
	});

	it('regenerates recovery codes after the password and a second factor; the old ones stop working', async () => {
		const person = await createAccount(fixture);
		const here = await signedIn(person);
		const first = await selfService.regenerateRecoveryCodes(
			here.user,
			{ password: person.password, factor: currentCodeOf(person) },
			context
		);
		if (first.kind !== 'ok') throw new Error('expected codes');
		// A recovery code stands in for the authenticator here too.
		const second = await selfService.regenerateRecoveryCodes(
			here.user,
			{ password: person.password, factor: first.codes[1]! },
			context
		);
		if (second.kind !== 'ok') throw new Error('expected codes');
		expect((await selfService.overview(here.user, here.session.id)).recoveryCodesLeft).toBe(10);
		const pending = await signIn.passwordStep(person, context);
		if (pending.kind !== 'second_factor') throw new Error('expected second factor');
		expect(await signIn.secondFactorStep(pending.token, first.codes[0]!, context)).toEqual({
			kind: 'failed'
		});
		expect((await signIn.secondFactorStep(pending.token, second.codes[0]!, context)).kind).toBe(
			'signed_in'
		);
		const actions = (await auditFor(fixture.db, person.id)).map((e) => e.action);
		expect(actions).toContain('auth.recovery_codes_regenerated');
	});

	it('changes no password and ends no session from a session ended on its way', async () => {
		const person = await createAccount(fixture);
		const stolen = await signedIn(person);
		// Sessions are ordered by their start, to the millisecond.
		await new Promise((resolve) => setTimeout(resolve, 5));
		const owner = await signedIn(person);
		const next = 'the attacker chose this passphrase';
		// The owner ends the stolen session while the change's body is still arriving.
		expect(
			await selfService.endSession(owner.user, stolen.session.id, context, owner.session.id)
		).toBe('ok');
		expect(
			await selfService.changePassword(
				stolen.user,
				stolen.session.id,
				{ current: person.password, next, confirm: next, factor: currentCodeOf(person) },
				context
			)
		).toEqual({ kind: 'problem', problem: 'ended' });
		// Ending another session from it is refused as well.
		expect(
			await selfService.endSession(stolen.user, owner.session.id, context, stolen.session.id)
		).toBe('ended');
		expect(await sessions.validate(fixture.db, owner.token)).not.toBeNull();
		expect((await signIn.passwordStep({ email: person.email, password: next }, context)).kind).toBe(
			'failed'
		);
		// A disabled account changes no password either, whatever its session.
		const other = await createAccount(fixture);
		const theirs = await signedIn(other);
		const hashOf = async () =>
			(
				await queryRows<{ hash: string }>(
					fixture.db,
					sql`select password_hash as hash from account where id = ${other.id}`
				)
			)[0]?.hash;
		const hashBefore = await hashOf();
		await fixture.db.execute(sql`update account set status = 'disabled' where id = ${other.id}`);
		expect(
			await selfService.changePassword(
				theirs.user,
				theirs.session.id,
				{ current: other.password, next, confirm: next, factor: currentCodeOf(other) },
				context
			)
		).toEqual({ kind: 'problem', problem: 'ended' });
		expect(hashBefore).toMatch(/^\$argon2id\$/);
		expect(await hashOf()).toBe(hashBefore);
	});

	it('gives no new second factor to a request whose session ended on its way', async () => {
		const person = await createAccount(fixture);
		const here = await signedIn(person);
		const code = codesOf(person.totpSecret!);
		const before = await selfService.regenerateRecoveryCodes(
			here.user,
			{ password: person.password, factor: code() },
			context,
			here.session.id
		);
		if (before.kind !== 'ok') throw new Error('expected codes');
		// Ended elsewhere (an administrator, a sign-out) after the request's guard had run.
		await sessions.end(fixture.db, here.session.id);
		expect(
			await selfService.regenerateRecoveryCodes(
				here.user,
				{ password: person.password, factor: before.codes[1]! },
				context,
				here.session.id
			)
		).toEqual({ kind: 'problem', problem: 'ended' });
		const { secret, result } = await reenrolWithNewKey(person, here, code());
		expect(result).toEqual({ kind: 'problem', problem: 'ended' });
		// Nothing was checked: the recovery code offered is still unused, no guess was counted.
		expect(await recoveryCodes.remaining(fixture.db, person.id)).toBe(10);
		expect(await failuresOf(person)).toBe(0);
		// The codes from before still work; the old authenticator was kept.
		const pending = await signIn.passwordStep(person, context);
		if (pending.kind !== 'second_factor') throw new Error('expected second factor');
		expect((await signIn.secondFactorStep(pending.token, before.codes[0]!, context)).kind).toBe(
			'signed_in'
		);
		const again = await signIn.passwordStep(person, context);
		if (again.kind !== 'second_factor') throw new Error('expected second factor');
		expect(
			(await signIn.secondFactorStep(again.token, generateTOTP(secret, 30, 6), context)).kind
		).toBe('failed');
	});
});

/** Six-digit codes none of which the authenticator accepts around now. */
function wrongCodes(secret: Uint8Array, n: number): string[] {
	const step = stepAt(new Date());
	const near = new Set(
		[-3, -2, -1, 0, 1, 2, 3].map((d) => generateHOTP(secret, BigInt(step + d), 6))
	);
	const codes: string[] = [];
	for (let guess = 200000; codes.length < n; guess++) {
		if (!near.has(String(guess))) codes.push(String(guess));
	}
	return codes;
}

describe('a current second factor before a new one', () => {
	it('refuses a new authenticator or new codes on the password alone, and audits each try', async () => {
		const person = await createAccount(fixture);
		const other = await createAccount(fixture);
		const here = await signedIn(person);
		const elsewhere = await signedIn(person);
		const theirCodes = await recoveryCodes.regenerate(fixture.db, other.id);
		const secret = new Uint8Array(randomBytes(20));
		const reenrol = (factor: string) =>
			selfService.reenrolTotp(
				here.user,
				{
					password: person.password,
					secret: encodeBase32UpperCaseNoPadding(secret),
					code: generateTOTP(secret, 30, 6),
					factor
				},
				context,
				here.session.id
			);
		const regenerate = (factor: string) =>
			selfService.regenerateRecoveryCodes(
				here.user,
				{ password: person.password, factor },
				context,
				here.session.id
			);
		const refused = { kind: 'problem', problem: 'wrong_current_factor' };
		// No code, a wrong one, a code of the new authenticator (the attacker's own), another
		// account's recovery code.
		expect(await reenrol('')).toEqual(refused);
		expect(await reenrol(wrongCodes(person.totpSecret!, 1)[0]!)).toEqual(refused);
		expect(await regenerate(generateTOTP(secret, 30, 6))).toEqual(refused);
		expect(await regenerate(theirCodes[0]!)).toEqual(refused);

		// Nothing changed: the old authenticator and the other sessions are as they were.
		expect(await sessions.validate(fixture.db, elsewhere.token)).not.toBeNull();
		expect(await recoveryCodes.remaining(fixture.db, person.id)).toBe(0);
		expect(await recoveryCodes.remaining(fixture.db, other.id)).toBe(10);
		expect((await signInWith(person, currentCodeOf(person))).kind).toBe('signed_in');

		// Every try is a failed second factor in the log, never the code typed; and counts as a
		// wrong code in a row, as one at sign-in does (the sign-in above started it again).
		const failed = (await auditFor(fixture.db, person.id)).filter(
			(e) => e.action === 'auth.mfa' && e.outcome === 'failed'
		);
		expect(failed.map((e) => e.details)).toEqual([
			{
				method: 'recovery',
				reason: 'wrong_or_used_recovery_code',
				purpose: 'reenrol_totp',
				factor: 'current'
			},
			{ method: 'totp', reason: 'wrong_code', purpose: 'reenrol_totp', factor: 'current' },
			{ method: 'totp', reason: 'wrong_code', purpose: 'recovery_codes', factor: 'current' },
			{
				method: 'recovery',
				reason: 'wrong_or_used_recovery_code',
				purpose: 'recovery_codes',
				factor: 'current'
			}
		]);
		expect(JSON.stringify(failed)).not.toContain(theirCodes[0]!);
	});

	it('takes an unused recovery code instead of the authenticator, and uses it up', async () => {
		const person = await createAccount(fixture);
		const here = await signedIn(person);
		const codes = await recoveryCodes.regenerate(fixture.db, person.id);
		const { secret, result } = await reenrolWithNewKey(person, here, codes[0]!);
		expect(result).toEqual({ kind: 'ok' });
		expect(await recoveryCodes.remaining(fixture.db, person.id)).toBe(9);
		const events = await auditFor(fixture.db, person.id);
		expect(events.find((e) => e.action === 'auth.recovery_code_used')?.details).toEqual({
			remaining: 9,
			purpose: 'reenrol_totp'
		});
		expect(events.find((e) => e.action === 'auth.totp_enrolled')?.details).toMatchObject({
			factor: 'recovery'
		});
		// Used: it opens nothing a second time, here or at sign-in.
		expect(
			await selfService.regenerateRecoveryCodes(
				here.user,
				{ password: person.password, factor: codes[0]! },
				context
			)
		).toEqual({ kind: 'problem', problem: 'wrong_current_factor' });
		expect((await signInWith(person, codes[0]!)).kind).toBe('failed');
		// The new authenticator is now the current one.
		const fresh = await selfService.regenerateRecoveryCodes(
			here.user,
			{
				password: person.password,
				factor: generateHOTP(secret, BigInt(stepAt(new Date()) + 1), 6)
			},
			context
		);
		expect(fresh.kind).toBe('ok');
	});

	it('takes each authenticator code once: not the one just used to sign in', async () => {
		const person = await createAccount(fixture);
		const here = await signedIn(person);
		const code = currentCodeOf(person);
		expect((await signInWith(person, code)).kind).toBe('signed_in');
		expect(
			await selfService.regenerateRecoveryCodes(
				here.user,
				{ password: person.password, factor: code },
				context
			)
		).toEqual({ kind: 'problem', problem: 'wrong_current_factor' });
		const [last] = (await auditFor(fixture.db, person.id))
			.filter((e) => e.action === 'auth.mfa')
			.slice(-1);
		expect(last?.details).toMatchObject({ reason: 'code_reused', purpose: 'recovery_codes' });
	});

	it('throttles the guesses on the budget of the sign-in code step', async () => {
		const person = await createAccount(fixture);
		const here = await signedIn(person);
		for (const guess of wrongCodes(person.totpSecret!, 6)) {
			expect(
				await selfService.regenerateRecoveryCodes(
					here.user,
					{ password: person.password, factor: guess },
					context
				)
			).toEqual({ kind: 'problem', problem: 'wrong_current_factor' });
		}
		// Locked now: the right code is refused unchecked, here and at sign-in alike.
		const right = currentCodeOf(person);
		expect(
			await selfService.regenerateRecoveryCodes(
				here.user,
				{ password: person.password, factor: right },
				context
			)
		).toEqual({ kind: 'problem', problem: 'wrong_current_factor' });
		expect((await signInWith(person, right)).kind).toBe('failed');
		const reasons = (await auditFor(fixture.db, person.id))
			.filter((e) => e.action === 'auth.mfa' && e.outcome === 'failed')
			.map((e) => e.details.reason);
		expect(reasons.filter((r) => r === 'throttled')).toHaveLength(2);
		expect(await failuresOf(person)).toBe(6);
	});

	it('locks the account at the wrong code that makes SECOND_FACTOR_LOCKOUT in a row', async () => {
		const person = await createAccount(fixture);
		const here = await signedIn(person);
		const elsewhere = await signedIn(person);
		await fixture.db
			.update(account)
			.set({ secondFactorFailures: signIn.SECOND_FACTOR_LOCKOUT - 1 })
			.where(eq(account.id, person.id));
		const result = await reenrolWithNewKey(person, here, wrongCodes(person.totpSecret!, 1)[0]!);
		expect(result.result).toEqual({ kind: 'problem', problem: 'locked' });
		const [row] = await fixture.db.select().from(account).where(eq(account.id, person.id));
		expect(row?.status).toBe('disabled');
		expect(await sessions.validate(fixture.db, here.token)).toBeNull();
		expect(await sessions.validate(fixture.db, elsewhere.token)).toBeNull();
		// The authenticator was not replaced.
		expect(row?.totpSecret).not.toBeNull();
		const actions = (await auditFor(fixture.db, person.id)).map((e) => e.action);
		expect(actions).toContain('auth.locked_out');
		expect(actions).not.toContain('auth.totp_enrolled');
	});

	it('starts the count of wrong codes again at an accepted one', async () => {
		const person = await createAccount(fixture);
		const here = await signedIn(person);
		const [wrong] = wrongCodes(person.totpSecret!, 1);
		await selfService.regenerateRecoveryCodes(
			here.user,
			{ password: person.password, factor: wrong! },
			context
		);
		expect(await failuresOf(person)).toBe(1);
		const result = await selfService.regenerateRecoveryCodes(
			here.user,
			{ password: person.password, factor: currentCodeOf(person) },
			context
		);
		expect(result.kind).toBe('ok');
		expect(await failuresOf(person)).toBe(0);
	});

	it('asks no second factor of an account that signs in without one', async () => {
		const person = await createAccount(fixture, { totp: false });
		const here = await signedIn(person);
		const codes = await selfService.regenerateRecoveryCodes(
			here.user,
			{ password: person.password, factor: '' },
			context
		);
		expect(codes.kind).toBe('ok');
		const { result } = await reenrolWithNewKey(person, here, '');
		expect(result).toEqual({ kind: 'ok' });
		expect(
			(await auditFor(fixture.db, person.id)).find((e) => e.action === 'auth.totp_enrolled')
				?.details
		).toMatchObject({ factor: null });
		// From now on it has one, which a new one needs.
		const again = await reenrolWithNewKey(person, here, '');
		expect(again.result).toEqual({ kind: 'problem', problem: 'wrong_current_factor' });
	});
});

describe('sign-ins waiting for their second factor', () => {
	it('a stolen older session cannot end the sign-ins its owner makes after it', async () => {
		const person = await createAccount(fixture);
		const stolen = await signedIn(person);
		// Sessions are ordered by their start, to the millisecond.
		await new Promise((resolve) => setTimeout(resolve, 5));
		const owner = await signedIn(person);
		expect(
			await selfService.endSession(stolen.user, owner.session.id, context, stolen.session.id)
		).toBe('newer');
		expect(await sessions.validate(fixture.db, owner.token)).not.toBeNull();
		// The owner, signed in after it, ends it.
		expect(
			await selfService.endSession(owner.user, stolen.session.id, context, owner.session.id)
		).toBe('ok');
		expect(await sessions.validate(fixture.db, stolen.token)).toBeNull();
	});

	it('are listed, marked, and can be ended like any other session', async () => {
		const person = await createAccount(fixture);
		const other = await createAccount(fixture);
		const here = await signedIn(person);
		// Someone who knows the password, elsewhere.
		const waiting = await signIn.passwordStep(person, { ...context, ip: '198.51.100.7' });
		if (waiting.kind !== 'second_factor') throw new Error('expected second factor');
		const theirs = await signIn.passwordStep(other, context);
		if (theirs.kind !== 'second_factor') throw new Error('expected second factor');
		// One that has run out is not listed.
		const stale = await sessions.create(fixture.db, {
			accountId: person.id,
			mfaVerified: false,
			now: new Date(Date.now() - sessions.PENDING_LIFETIME_MS - 1000)
		});

		const view = await selfService.overview(here.user, here.session.id);
		expect(view.sessions.map((s) => [s.id, s.pending, s.current]).sort()).toEqual(
			[
				[here.session.id, false, true],
				[waiting.session.id, true, false]
			].sort()
		);
		expect(view.sessions.find((s) => s.pending)?.ip).toBe('198.51.100.7');
		expect(view.sessions.map((s) => s.id)).not.toContain(stale.session.id);

		expect(
			await selfService.endSession(here.user, theirs.session.id, context, here.session.id)
		).toBe('not_found');
		// It began after this session: not from here (a stolen older session could otherwise end
		// every sign-in its owner makes), but from any sign-in made after it.
		expect(view.sessions.find((s) => s.pending)?.endable).toBe(false);
		expect(
			await selfService.endSession(here.user, waiting.session.id, context, here.session.id)
		).toBe('newer');
		expect(
			await sessions.validate(fixture.db, waiting.token, { allowPending: true })
		).not.toBeNull();
		const later = await signedIn(person);
		expect(
			(await selfService.overview(later.user, later.session.id)).sessions.find((s) => s.pending)
				?.endable
		).toBe(true);
		expect(
			await selfService.endSession(later.user, waiting.session.id, context, later.session.id)
		).toBe('ok');
		expect(await sessions.validate(fixture.db, waiting.token, { allowPending: true })).toBeNull();
		expect(await signIn.secondFactorStep(waiting.token, currentCodeOf(person), context)).toEqual({
			kind: 'no_pending'
		});
		expect(
			await sessions.validate(fixture.db, theirs.token, { allowPending: true })
		).not.toBeNull();
		const ended = (await auditFor(fixture.db, person.id)).filter(
			(e) => e.action === 'auth.session_ended'
		);
		expect(ended.map((e) => e.details)).toEqual([
			{ session: waiting.session.id, by: 'self', pending: true }
		]);
	});
});

describe('passwords set before they were normalised', () => {
	it('are accepted as typed before a change, and hashed again in their normalised form', async () => {
		const typed = 'ｐａｓｓ ｗｏｒｄ ２０２６ ｗｉｄｅ';
		const person = await createAccount(fixture);
		const legacy = await hash(typed, { algorithm: 2, memoryCost: 19_456, timeCost: 2 });
		await fixture.db.update(account).set({ passwordHash: legacy }).where(eq(account.id, person.id));
		const here = await signedIn(person);
		const result = await selfService.regenerateRecoveryCodes(
			here.user,
			{ password: typed, factor: currentCodeOf(person) },
			context
		);
		expect(result.kind).toBe('ok');
		const [row] = await fixture.db.select().from(account).where(eq(account.id, person.id));
		expect(row!.passwordHash).not.toBe(legacy);
		expect(await verifyPasswordHash(row!.passwordHash!, 'pass word 2026 wide')).toBe('normalised');
	});

	it('a new password and its confirmation typed in two ways are the same', async () => {
		const person = await createAccount(fixture);
		const here = await signedIn(person);
		const result = await selfService.changePassword(
			here.user,
			here.session.id,
			{
				current: person.password,
				next: 'ガイドの新しい合言葉をここに',
				confirm: 'ｶﾞｲﾄﾞの新しい合言葉をここに',
				factor: currentCodeOf(person)
			},
			context
		);
		expect(result.kind).toBe('ok');
		expect(
			(
				await signIn.passwordStep(
					{ email: person.email, password: 'カ\u3099イト\u3099の新しい合言葉をここに' },
					context
				)
			).kind
		).toBe('second_factor');
	});
});
