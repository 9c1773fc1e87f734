import { randomBytes } from 'node:crypto';
import { encodeBase32UpperCaseNoPadding } from '@oslojs/encoding';
import { generateTOTP } from '@oslojs/otp';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
	auditFor,
	createAccount,
	createAuthFixture,
	currentCode,
	type AuthFixture,
	type TestAccount
} from '../../../../tests/helpers/auth-fixture';
import * as recoveryCodes from '$lib/server/auth/recovery-codes';
import * as sessions from '$lib/server/auth/sessions';
import * as signIn from '$lib/server/auth/sign-in';
import { account } from '$lib/server/db/schema';
import * as page from './+page.server';

let fixture: AuthFixture;
beforeAll(async () => {
	fixture = await createAuthFixture();
});
afterAll(async () => {
	await fixture?.close();
});

async function signedIn(person: TestAccount) {
	const created = await sessions.create(fixture.db, { accountId: person.id, mfaVerified: true });
	const valid = await sessions.validate(fixture.db, created.token);
	return { token: created.token, ...valid! };
}

/**
 * A form post to /account from the browser holding `here`, with locals as the hooks set them
 * and its cookie jar (ORIGIN is http: the cookie is `session`).
 */
function post(
	action: string,
	fields: Record<string, string>,
	here: Awaited<ReturnType<typeof signedIn>>,
	jar: Map<string, string>
) {
	const url = new URL(`http://127.0.0.1:5173/account?/${action}`);
	const body = new FormData();
	for (const [k, v] of Object.entries(fields)) body.append(k, v);
	const event = {
		url,
		request: new Request(url, { method: 'POST', body, headers: { 'user-agent': 'vitest' } }),
		locals: {
			user: here.user,
			session: here.session,
			requestId: 'account-route',
			clientIp: '198.51.100.91'
		},
		cookies: {
			get: (name: string) => jar.get(name),
			set: (name: string, value: string) => void jar.set(name, value),
			delete: (name: string) => void jar.delete(name)
		}
	};
	return event;
}

describe('my account', () => {
	it('a password change keeps this browser signed in under a new cookie and ends the rest', async () => {
		const person = await createAccount(fixture);
		const here = await signedIn(person);
		const elsewhere = await signedIn(person);
		const jar = new Map([['session', here.token]]);
		const next = 'a completely different passphrase';
		const event = post(
			'changePassword',
			{
				current: person.password,
				password: next,
				confirm: next,
				factor: currentCode(person.totpSecret!)
			},
			here,
			jar
		);

		const result = await page.actions.changePassword!(event as never);
		expect(result).toMatchObject({ action: 'changePassword', ok: true, sessionsEnded: 1 });
		const cookie = jar.get('session')!;
		expect(cookie).not.toBe(here.token);
		expect(await sessions.validate(fixture.db, here.token)).toBeNull();
		expect(await sessions.validate(fixture.db, elsewhere.token)).toBeNull();
		const renewed = await sessions.validate(fixture.db, cookie);
		expect(renewed?.user.id).toBe(person.id);
		// The page's load after the action sees the new session as the current one.
		expect(event.locals.session?.id).toBe(renewed!.session.id);

		const ended = (await auditFor(fixture.db, person.id)).filter(
			(e) => e.action === 'auth.session_ended'
		);
		expect(ended.map((e) => e.details.session).sort()).toEqual(
			[here.session.id, elsewhere.session.id].sort()
		);
	});

	it('a new authenticator ends the other sessions and keeps this one', async () => {
		const person = await createAccount(fixture);
		const here = await signedIn(person);
		const elsewhere = await signedIn(person);
		const jar = new Map([['session', here.token]]);
		const secret = new Uint8Array(randomBytes(20));
		const event = post(
			'reenrolTotp',
			{
				current: person.password,
				secret: encodeBase32UpperCaseNoPadding(secret),
				code: generateTOTP(secret, 30, 6),
				factor: currentCode(person.totpSecret!)
			},
			here,
			jar
		);

		expect(await page.actions.reenrolTotp!(event as never)).toMatchObject({ ok: true });
		expect(jar.get('session')).toBe(here.token);
		expect(await sessions.validate(fixture.db, here.token)).not.toBeNull();
		expect(await sessions.validate(fixture.db, elsewhere.token)).toBeNull();
		const ended = (await auditFor(fixture.db, person.id)).filter(
			(e) => e.action === 'auth.session_ended'
		);
		expect(ended.map((e) => e.details)).toEqual([
			{ session: elsewhere.session.id, by: 'totp_change' }
		]);
	});

	it('refuses a password change posted without a current second factor, or a wrong one', async () => {
		const person = await createAccount(fixture);
		const other = await createAccount(fixture);
		const here = await signedIn(person);
		const elsewhere = await signedIn(person);
		const jar = new Map([['session', here.token]]);
		const theirCode = (await recoveryCodes.regenerate(fixture.db, other.id))[0]!;
		const next = 'the attacker knows the old one';
		const fields = { current: person.password, password: next, confirm: next };
		const [before] = await fixture.db.select().from(account).where(eq(account.id, person.id));
		// As the form was before (no such field), empty, a guess, another account's recovery code.
		for (const extra of <Record<string, string>[]>[
			{},
			{ factor: '' },
			{ factor: '000000' },
			{ factor: theirCode }
		]) {
			const result = await page.actions.changePassword!(
				post('changePassword', { ...fields, ...extra }, here, jar) as never
			);
			expect(result, JSON.stringify(extra)).toMatchObject({
				status: 400,
				data: { action: 'changePassword', problem: 'wrong_current_factor' }
			});
		}
		const [after] = await fixture.db.select().from(account).where(eq(account.id, person.id));
		expect(after!.passwordHash).toBe(before!.passwordHash);
		expect(jar.get('session')).toBe(here.token);
		expect(await sessions.validate(fixture.db, elsewhere.token)).not.toBeNull();
		expect(
			(await auditFor(fixture.db, person.id)).filter(
				(e) => e.action === 'auth.password_changed' && e.outcome === 'allowed'
			)
		).toEqual([]);
		expect(await recoveryCodes.remaining(fixture.db, other.id)).toBe(10);
	});

	it('refuses a new authenticator posted without a current second factor, or a wrong one', async () => {
		const person = await createAccount(fixture);
		const other = await createAccount(fixture);
		const here = await signedIn(person);
		const elsewhere = await signedIn(person);
		const jar = new Map([['session', here.token]]);
		const theirCode = (await recoveryCodes.regenerate(fixture.db, other.id))[0]!;
		const secret = new Uint8Array(randomBytes(20));
		const fields = {
			current: person.password,
			secret: encodeBase32UpperCaseNoPadding(secret),
			code: generateTOTP(secret, 30, 6)
		};
		// As the form was before (no such field), empty, the new authenticator's own code, a
		// guess, another account's recovery code.
		for (const extra of <Record<string, string>[]>[
			{},
			{ factor: '' },
			{ factor: fields.code },
			{ factor: '000000' },
			{ factor: theirCode }
		]) {
			const result = await page.actions.reenrolTotp!(
				post('reenrolTotp', { ...fields, ...extra }, here, jar) as never
			);
			expect(result, JSON.stringify(extra)).toMatchObject({
				status: 400,
				data: { action: 'reenrolTotp', problem: 'wrong_current_factor' }
			});
		}
		const [row] = await fixture.db.select().from(account).where(eq(account.id, person.id));
		expect(row?.totpKeyId).not.toBeNull();
		expect(await sessions.validate(fixture.db, elsewhere.token)).not.toBeNull();
		expect(
			(await auditFor(fixture.db, person.id)).filter((e) => e.action === 'auth.totp_enrolled')
		).toEqual([]);
		expect(await recoveryCodes.remaining(fixture.db, other.id)).toBe(10);
	});

	it('gives new recovery codes only with a current second factor', async () => {
		const person = await createAccount(fixture);
		const here = await signedIn(person);
		const jar = new Map([['session', here.token]]);
		const refused = await page.actions.recoveryCodes!(
			post('recoveryCodes', { current: person.password }, here, jar) as never
		);
		expect(refused).toMatchObject({
			status: 400,
			data: { action: 'recoveryCodes', problem: 'wrong_current_factor' }
		});
		expect(await recoveryCodes.remaining(fixture.db, person.id)).toBe(0);
		const given = await page.actions.recoveryCodes!(
			post(
				'recoveryCodes',
				{ current: person.password, factor: currentCode(person.totpSecret!) },
				here,
				jar
			) as never
		);
		expect(given).toMatchObject({ action: 'recoveryCodes', ok: true });
		expect((given as { codes: string[] }).codes).toHaveLength(10);
	});

	it('signs this browser out when a wrong code locks the account', async () => {
		const person = await createAccount(fixture);
		const here = await signedIn(person);
		const jar = new Map([['session', here.token]]);
		await fixture.db
			.update(account)
			.set({ secondFactorFailures: signIn.SECOND_FACTOR_LOCKOUT - 1 })
			.where(eq(account.id, person.id));
		const event = post(
			'recoveryCodes',
			{ current: person.password, factor: 'ABCD-EFGH' },
			here,
			jar
		);
		expect(await page.actions.recoveryCodes!(event as never)).toMatchObject({
			status: 400,
			data: { problem: 'locked' }
		});
		expect(jar.has('session')).toBe(false);
		expect(event.locals.user).toBeNull();
		expect(await sessions.validate(fixture.db, here.token)).toBeNull();
	});

	it('lists a sign-in waiting for its second factor and ends it, but none of another account', async () => {
		const person = await createAccount(fixture);
		const other = await createAccount(fixture);
		const context = { ip: '203.0.113.5', userAgent: 'curl/8', requestId: 'elsewhere' };
		const waiting = await signIn.passwordStep(person, context);
		const theirs = await signIn.passwordStep(other, context);
		if (waiting.kind !== 'second_factor' || theirs.kind !== 'second_factor')
			throw new Error('expected waiting sessions');
		// Signed in after it: a session ends only those that began before it.
		const here = await signedIn(person);
		const jar = new Map([['session', here.token]]);

		const data = (await page.load(post('endSession', {}, here, jar) as never)) as {
			sessions: { id: string; pending: boolean; ip: string | null }[];
		};
		expect(data.sessions.find((s) => s.id === waiting.session.id)).toMatchObject({
			pending: true,
			ip: '203.0.113.5'
		});
		expect(data.sessions.map((s) => s.id)).not.toContain(theirs.session.id);

		const end = (session: string) =>
			page.actions.endSession!(post('endSession', { session }, here, jar) as never);
		expect(await end(theirs.session.id)).toMatchObject({
			status: 404,
			data: { problem: 'not_found' }
		});
		expect(await end(here.session.id)).toMatchObject({ status: 400, data: { problem: 'current' } });
		expect(await end(waiting.session.id)).toMatchObject({ action: 'endSession', ok: true });
		// One that began after this session is not ended from it.
		const newer = await signIn.passwordStep(person, context);
		if (newer.kind !== 'second_factor') throw new Error('expected a waiting session');
		expect(await end(newer.session.id)).toMatchObject({ status: 400, data: { problem: 'newer' } });
		expect(await sessions.validate(fixture.db, newer.token, { allowPending: true })).not.toBeNull();
		expect(await sessions.validate(fixture.db, waiting.token, { allowPending: true })).toBeNull();
		expect(
			await sessions.validate(fixture.db, theirs.token, { allowPending: true })
		).not.toBeNull();
		const ended = (await auditFor(fixture.db, person.id)).filter(
			(e) => e.action === 'auth.session_ended'
		);
		expect(ended.map((e) => e.details)).toEqual([
			{ session: waiting.session.id, by: 'self', pending: true }
		]);

		// From a session ended meanwhile, a waiting one is not ended either.
		const again = await signIn.passwordStep(person, context);
		if (again.kind !== 'second_factor') throw new Error('expected a waiting session');
		await sessions.end(fixture.db, here.session.id);
		expect(await end(again.session.id)).toMatchObject({ status: 400, data: { problem: 'ended' } });
		expect(await sessions.validate(fixture.db, again.token, { allowPending: true })).not.toBeNull();
	});
});
