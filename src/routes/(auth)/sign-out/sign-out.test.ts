import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
	auditFor,
	createAccount,
	createAuthFixture,
	type AuthFixture
} from '../../../../tests/helpers/auth-fixture';
import * as sessions from '$lib/server/auth/sessions';
import { POST as signOut } from './+server';

let fixture: AuthFixture;
beforeAll(async () => {
	fixture = await createAuthFixture();
});
afterAll(async () => {
	await fixture?.close();
});

/** The sign-out post from a browser holding `token` (no live session: the hooks found none). */
function post(token: string, jar: Map<string, string>) {
	jar.set('session', token);
	const url = new URL('http://127.0.0.1:5173/sign-out');
	return {
		url,
		request: new Request(url, { method: 'POST', headers: { 'user-agent': 'vitest' } }),
		locals: { user: null, session: null, requestId: 'sign-out', clientIp: '198.51.100.92' },
		cookies: {
			get: (name: string) => jar.get(name),
			set: (name: string, value: string) => void jar.set(name, value),
			delete: (name: string) => void jar.delete(name)
		}
	} as unknown as Parameters<typeof signOut>[0];
}

describe('signing out', () => {
	it('ends a session still waiting for its second factor, and records it', async () => {
		const person = await createAccount(fixture);
		const waiting = await sessions.create(fixture.db, {
			accountId: person.id,
			mfaVerified: false
		});
		const jar = new Map<string, string>();
		const response = await signOut(post(waiting.token, jar));
		expect(response.status).toBe(303);
		expect(jar.has('session')).toBe(false);
		// Gone on the server too: the cookie, kept elsewhere, no longer reaches the code step.
		expect(await sessions.validate(fixture.db, waiting.token, { allowPending: true })).toBeNull();
		const ended = (await auditFor(fixture.db, person.id)).filter(
			(e) => e.action === 'auth.session_ended'
		);
		expect(ended.at(-1)?.details).toMatchObject({
			session: waiting.session.id,
			by: 'signed_out',
			pending: true
		});
	});

	it('only clears the cookie of a session that has already ended', async () => {
		const jar = new Map<string, string>();
		const response = await signOut(post('abcdefghijklmnopqrstuvwx.notasecret', jar));
		expect(response.status).toBe(303);
		expect(jar.has('session')).toBe(false);
	});
});
