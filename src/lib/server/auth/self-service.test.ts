import { randomBytes } from 'node:crypto';
import { encodeBase32UpperCaseNoPadding } from '@oslojs/encoding';
import { generateTOTP } from '@oslojs/otp';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
	auditFor,
	createAccount,
	createAuthFixture,
	type AuthFixture,
	type TestAccount
} from '../../../../tests/helpers/auth-fixture';
import { queryRows } from '../db';
import * as selfService from './self-service';
import * as sessions from './sessions';
import * as signIn from './sign-in';
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

/** A new authenticator for the person's current session, proved with a code from it. */
async function reenrolWithNewKey(person: TestAccount, here: Awaited<ReturnType<typeof signedIn>>) {
	const secret = new Uint8Array(randomBytes(20));
	const result = await selfService.reenrolTotp(
		here.user,
		{
			password: person.password,
			secret: encodeBase32UpperCaseNoPadding(secret),
			code: generateTOTP(secret, 30, 6)
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
				{ current: 'wrong', next, confirm: next },
				context
			)
		).toEqual({ kind: 'problem', problem: 'wrong_password' });
		expect(
			await selfService.changePassword(
				here.user,
				here.session.id,
				{ current: person.password, next: 'password', confirm: 'password' },
				context
			)
		).toEqual({ kind: 'problem', problem: 'too_short' });
		expect(
			await selfService.changePassword(
				here.user,
				here.session.id,
				{ current: person.password, next, confirm: next + '!' },
				context
			)
		).toEqual({ kind: 'problem', problem: 'mismatch' });

		const result = await selfService.changePassword(
			here.user,
			here.session.id,
			{ current: person.password, next, confirm: next },
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
		for (let i = 0; i < 6; i++) {
			await selfService.regenerateRecoveryCodes(here.user, `guess ${i}`, context);
		}
		expect(await selfService.regenerateRecoveryCodes(here.user, person.password, context)).toEqual({
			kind: 'problem',
			problem: 'wrong_password'
		});
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
			{ current: person.password, next, confirm: next },
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
		const { result } = await reenrolWithNewKey(person, here);
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
	it('replaces the authenticator after the password and a code from the new one', async () => {
		const person = await createAccount(fixture);
		const here = await signedIn(person);
		const secret = new Uint8Array(randomBytes(20));
		const text = encodeBase32UpperCaseNoPadding(secret);
		expect(
			await selfService.reenrolTotp(
				here.user,
				{ password: 'wrong', secret: text, code: generateTOTP(secret, 30, 6) },
				context
			)
		).toEqual({ kind: 'problem', problem: 'wrong_password' });
		expect(
			await selfService.reenrolTotp(
				here.user,
				{ password: person.password, secret: text, code: generateTOTP(person.totpSecret!, 30, 6) },
				context
			)
		).toEqual({ kind: 'problem', problem: 'wrong_code' });
		// A wrong code is a failed second factor in the log, like one at sign-in.
		const failures = (await auditFor(fixture.db, person.id)).filter(
			(e) => e.action === 'auth.mfa' && e.outcome === 'failed'
		);
		expect(failures.map((e) => [e.actorId, e.details])).toEqual([
			[person.id, { method: 'totp', reason: 'wrong_code', purpose: 'reenrol_totp' }]
		]);
		expect(
			await selfService.reenrolTotp(
				here.user,
				{ password: person.password, secret: text, code: generateTOTP(secret, 30, 6) },
				context
			)
		).toEqual({ kind: 'ok' });

		// The old authenticator no longer works; the new one does (on its next step).
		const pending = await signIn.passwordStep(person, context);
		if (pending.kind !== 'second_factor') throw new Error('expected second factor');
		expect(
			await signIn.secondFactorStep(pending.token, generateTOTP(person.totpSecret!, 30, 6), context)
		).toEqual({ kind: 'failed' });
	});

	it('regenerates recovery codes after the password; the old ones stop working', async () => {
		const person = await createAccount(fixture);
		const here = await signedIn(person);
		const first = await selfService.regenerateRecoveryCodes(here.user, person.password, context);
		const second = await selfService.regenerateRecoveryCodes(here.user, person.password, context);
		if (first.kind !== 'ok' || second.kind !== 'ok') throw new Error('expected codes');
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
				{ current: person.password, next, confirm: next },
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
				{ current: other.password, next, confirm: next },
				context
			)
		).toEqual({ kind: 'problem', problem: 'ended' });
		expect(hashBefore).toMatch(/^\$argon2id\$/);
		expect(await hashOf()).toBe(hashBefore);
	});

	it('gives no new second factor to a request whose session ended on its way', async () => {
		const person = await createAccount(fixture);
		const here = await signedIn(person);
		const before = await selfService.regenerateRecoveryCodes(
			here.user,
			person.password,
			context,
			here.session.id
		);
		if (before.kind !== 'ok') throw new Error('expected codes');
		// Ended elsewhere (an administrator, a sign-out) after the request's guard had run.
		await sessions.end(fixture.db, here.session.id);
		expect(
			await selfService.regenerateRecoveryCodes(
				here.user,
				person.password,
				context,
				here.session.id
			)
		).toEqual({ kind: 'problem', problem: 'ended' });
		const { secret, result } = await reenrolWithNewKey(person, here);
		expect(result).toEqual({ kind: 'problem', problem: 'ended' });
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
