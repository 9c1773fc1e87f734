import type { Cookies, Handle, RequestEvent } from '@sveltejs/kit';
import { afterAll, describe, expect, it } from 'vitest';
import { getConfig, loadConfig, setConfig } from '../config';
import { clearSessionCookie, sessionCookieName, setSessionCookie } from '../auth/cookie';
import { securityHeaders } from './security-headers';

const previous = (() => {
	try {
		return getConfig();
	} catch {
		return undefined;
	}
})();
afterAll(() => {
	if (previous) setConfig(previous);
});

const production = {
	INTRANET_MODE: 'production',
	DATABASE_URL: 'postgres://app@db/jiss',
	S3_BUCKET: 'jiss-documents',
	ORIGIN: 'https://intranet.jiss.example',
	SMTP_URL: 'smtp://mail:25',
	MFA_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 1).toString('base64')}`,
	AUDIT_SIGNING_KEY: `k1:${Buffer.alloc(32, 2).toString('base64')}`
};

type Resolve = Parameters<Handle>[0]['resolve'];

async function headersFor(user: boolean, response = new Response('ok')) {
	const event = {
		locals: { user: user ? { id: 1 } : null }
	} as unknown as RequestEvent;
	const resolve: Resolve = async () => response;
	return (await securityHeaders({ event, resolve })).headers;
}

describe('security headers', () => {
	it('are set on every response, HSTS in production only', async () => {
		setConfig(loadConfig({ LOG_LEVEL: 'silent' }));
		const demo = await headersFor(false);
		expect(demo.get('x-content-type-options')).toBe('nosniff');
		expect(demo.get('referrer-policy')).toBe('same-origin');
		expect(demo.get('cross-origin-opener-policy')).toBe('same-origin');
		expect(demo.get('cache-control')).toBe('no-store');
		expect(demo.get('strict-transport-security')).toBeNull();

		setConfig(loadConfig(production));
		const prod = await headersFor(false);
		expect(prod.get('strict-transport-security')).toBe('max-age=63072000; includeSubDomains');
	});

	it('never lets an authenticated response be cached', async () => {
		setConfig(loadConfig({ LOG_LEVEL: 'silent' }));
		const cached = new Response('x', { headers: { 'cache-control': 'public, max-age=600' } });
		expect((await headersFor(true, cached)).get('cache-control')).toBe('no-store');
		// An anonymous response keeps an explicit choice (e.g. immutable assets).
		const anonymous = new Response('x', { headers: { 'cache-control': 'public, max-age=600' } });
		expect((await headersFor(false, anonymous)).get('cache-control')).toBe('public, max-age=600');
	});
});

function fakeCookies() {
	const set: { name: string; value: string; options: Record<string, unknown> }[] = [];
	const cookies = {
		set: (name: string, value: string, options: Record<string, unknown>) =>
			set.push({ name, value, options }),
		delete: (name: string, options: Record<string, unknown>) =>
			set.push({ name, value: '', options: { ...options, deleted: true } })
	} as unknown as Cookies;
	return { cookies, set };
}

describe('session cookie', () => {
	it('is __Host- prefixed and Secure when ORIGIN is https', () => {
		setConfig(loadConfig(production));
		const url = new URL('http://10.0.0.5:3000/sign-in');
		expect(sessionCookieName(url)).toBe('__Host-session');
		const { cookies, set } = fakeCookies();
		const expires = new Date(Date.now() + 3600_000);
		setSessionCookie(cookies, url, 'token', expires);
		expect(set[0]).toEqual({
			name: '__Host-session',
			value: 'token',
			options: { path: '/', httpOnly: true, sameSite: 'lax', secure: true, expires }
		});
		clearSessionCookie(cookies, url);
		expect(set[1]!.options).toMatchObject({ path: '/', secure: true, deleted: true });
	});

	it('is plain and not Secure over http (the laptop demo)', () => {
		setConfig(loadConfig({ LOG_LEVEL: 'silent', ORIGIN: 'http://localhost:3000' }));
		const url = new URL('http://localhost:3000/');
		expect(sessionCookieName(url)).toBe('session');
		const { cookies, set } = fakeCookies();
		setSessionCookie(cookies, url, 'token', new Date());
		expect(set[0]!.options).toMatchObject({ httpOnly: true, sameSite: 'lax', secure: false });
	});
});
