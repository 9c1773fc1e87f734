import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
	auditFor,
	createAccount,
	createAuthFixture,
	type AuthFixture
} from '../../../../tests/helpers/auth-fixture';
import * as sessions from '$lib/server/auth/sessions';
import * as signIn from '$lib/server/auth/sign-in';
import * as page from './+page.server';

let fixture: AuthFixture;
beforeAll(async () => {
	fixture = await createAuthFixture({ MFA_REQUIRED_FOR_ALL: 'true' });
});
afterAll(async () => {
	await fixture?.close();
});

/** A browser's form post to /sign-in with its cookie jar (ORIGIN is http: the cookie is `session`). */
function post(action: string, fields: Record<string, string>, jar: Map<string, string>) {
	const url = new URL(`http://127.0.0.1:5173/sign-in?/${action}`);
	const body = new FormData();
	for (const [k, v] of Object.entries(fields)) body.append(k, v);
	return {
		url,
		request: new Request(url, { method: 'POST', body, headers: { 'user-agent': 'vitest' } }),
		locals: { user: null, session: null, requestId: 'sign-in-route', clientIp: '198.51.100.90' },
		cookies: {
			get: (name: string) => jar.get(name),
			set: (name: string, value: string) => void jar.set(name, value),
			delete: (name: string) => void jar.delete(name)
		}
	} as never;
}

async function statusOf(run: () => unknown): Promise<number> {
	try {
		const value = (await run()) as { status?: number } | undefined;
		return value?.status ?? 200;
	} catch (thrown) {
		const status = (thrown as { status?: number }).status;
		if (typeof status === 'number') return status;
		throw thrown;
	}
}

describe('the sign-in page ends the session it finds in the browser, and audits it', () => {
	it('when someone signs in again over a live session', async () => {
		const person = await createAccount(fixture);
		const live = await sessions.create(fixture.db, { accountId: person.id, mfaVerified: true });
		const jar = new Map([['session', live.token]]);

		const status = await statusOf(() =>
			page.actions.password!(
				post('password', { email: person.email, password: person.password, next: '/' }, jar)
			)
		);
		expect(status).toBe(303);
		expect(await sessions.validate(fixture.db, live.token)).toBeNull();
		expect(jar.get('session')).toBeDefined();
		expect(jar.get('session')).not.toBe(live.token);

		const ended = (await auditFor(fixture.db, person.id)).filter(
			(e) => e.action === 'auth.session_ended'
		);
		expect(ended).toHaveLength(1);
		expect(ended[0]).toMatchObject({
			actorId: person.id,
			outcome: 'allowed',
			ip: '198.51.100.90',
			details: { session: live.session.id, by: 'new_sign_in', pending: false }
		});
	});

	it('when the second step is cancelled', async () => {
		const person = await createAccount(fixture);
		const waiting = await signIn.passwordStep(person, {
			ip: '198.51.100.90',
			userAgent: 'vitest'
		});
		if (waiting.kind !== 'second_factor') throw new Error('expected second factor');
		const jar = new Map([['session', waiting.token]]);

		expect(await statusOf(() => page.actions.cancel!(post('cancel', {}, jar)))).toBe(303);
		expect(await sessions.validate(fixture.db, waiting.token, { allowPending: true })).toBeNull();
		expect(jar.has('session')).toBe(false);

		const ended = (await auditFor(fixture.db, person.id)).filter(
			(e) => e.action === 'auth.session_ended'
		);
		expect(ended).toHaveLength(1);
		expect(ended[0]).toMatchObject({
			actorId: person.id,
			outcome: 'allowed',
			details: { session: waiting.session.id, by: 'cancelled', pending: true }
		});
	});
});
