import { randomBytes } from 'node:crypto';
import { encodeBase32UpperCaseNoPadding } from '@oslojs/encoding';
import { generateTOTP } from '@oslojs/otp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
	auditFor,
	createAccount,
	createAuthFixture,
	type AuthFixture,
	type TestAccount
} from '../../../../tests/helpers/auth-fixture';
import * as sessions from '$lib/server/auth/sessions';
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
			{ current: person.password, password: next, confirm: next },
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
				code: generateTOTP(secret, 30, 6)
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
});
