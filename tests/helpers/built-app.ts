import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { decodeBase32IgnorePadding } from '@oslojs/encoding';
import { generateHOTP } from '@oslojs/otp';
import { DEMO_ACCOUNTS } from '../../src/lib/server/seed/demo-data';

/**
 * Helpers for integration tests that run the BUILT app as a child process, through the same
 * entry point as production: `server.js` (adapter-node's build/index.js with upload-sized
 * request timeouts).
 */
export const APP_ENTRY = 'server.js';

/** `npm test` builds only for Playwright, after the unit tests: build once here if needed. */
export function ensureBuilt(): void {
	if (existsSync('build/index.js')) return;
	const built = spawnSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build'], {
		stdio: 'ignore'
	});
	if (built.status !== 0) throw new Error('The app did not build');
}

export { freePort } from './ports';

/** Polls /readyz until the server answers 200 (or gives up after two minutes). */
export async function waitUntilReady(origin: string): Promise<void> {
	for (let i = 0; i < 240; i++) {
		try {
			if ((await fetch(`${origin}/readyz`)).ok) return;
		} catch {
			/* not listening yet */
		}
		await new Promise((r) => setTimeout(r, 500));
	}
}

function withCookies(cookie: string, response: Response): string {
	for (const line of response.headers.getSetCookie()) {
		const pair = line.split(';')[0]!;
		const name = pair.split('=')[0]!;
		cookie = cookie
			.split('; ')
			.filter((c) => c && !c.startsWith(`${name}=`))
			.concat(pair)
			.join('; ');
	}
	return cookie;
}

/**
 * Signs a demo account in through the real two-step sign-in and returns the Cookie header of
 * the session.
 */
export async function signInOverHttp(origin: string, email: string): Promise<string> {
	const account = DEMO_ACCOUNTS.find((a) => a.email === email)!;
	const headers = {
		origin,
		accept: 'text/html',
		'content-type': 'application/x-www-form-urlencoded'
	};
	const first = await fetch(`${origin}/sign-in?/password`, {
		method: 'POST',
		headers,
		body: new URLSearchParams({ email, password: account.password, next: '/' }),
		redirect: 'manual'
	});
	if (first.status !== 303) throw new Error(`Password step answered ${first.status}`);
	let cookie = withCookies('', first);
	const step = Math.floor(Date.now() / 30_000);
	for (const s of [step, step + 1]) {
		const code = generateHOTP(decodeBase32IgnorePadding(account.totpSecret), BigInt(s), 6);
		const second = await fetch(`${origin}/sign-in?/code`, {
			method: 'POST',
			headers: { ...headers, cookie },
			body: new URLSearchParams({ code, next: '/' }),
			redirect: 'manual'
		});
		cookie = withCookies(cookie, second);
		if (second.status === 303) return cookie;
	}
	throw new Error('sign-in failed');
}
