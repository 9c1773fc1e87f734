import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { decodeBase32IgnorePadding } from '@oslojs/encoding';
import { generateHOTP } from '@oslojs/otp';
import { expect, type APIRequestContext, type Page } from '@playwright/test';
import { DEMO_ACCOUNTS, type DemoAccount } from '../../../src/lib/server/seed/demo-data';

/** Demo accounts by role, for other areas' specs: `signIn(page, DEMO.staff)`. */
export const DEMO = {
	administrator: 'admin@jiss.example',
	administrator2: 'admin2@jiss.example',
	auditor: 'auditor@jiss.example',
	/** Staff, TOP SECRET with SDA, MD and PNT. */
	staff: 'fellow@jiss.example',
	/** Staff, CONFIDENTIAL with SDA. */
	researcher: 'researcher@jiss.example',
	/** Staff, RESTRICTED, no compartments. */
	analyst: 'analyst@jiss.example',
	/** Partner liaison of USA, SECRET with SDA. */
	liaison: 'liaison@usa.example',
	/** Partner liaison of AUS, CONFIDENTIAL with PNT. */
	liaison2: 'liaison@aus.example'
} as const;

export function demoAccount(email: string): DemoAccount {
	const found = DEMO_ACCOUNTS.find((a) => a.email === email);
	if (!found) throw new Error(`Not a demo account: ${email}`);
	return found;
}

function origin(): string {
	return `http://127.0.0.1:${process.env.E2E_PORT}`;
}

const STEP_MS = 30_000;
// The server accepts each time step once per account (and the neighbouring steps): remember the
// last step used per account, and use the next one. Kept in a file for this run's server, so that
// a worker restarted after a failure still knows which steps the earlier worker used.
function stepsFile(): string {
	return path.resolve('tests/.tmp', `totp-steps-${process.env.E2E_PORT}.json`);
}

function readSteps(): Record<string, number> {
	try {
		return JSON.parse(readFileSync(stepsFile(), 'utf8')) as Record<string, number>;
	} catch {
		return {};
	}
}

/** Tells the helper that a step's code was used for this account outside it. */
export function noteCodeUsed(email: string, step: number): void {
	const steps = readSteps();
	steps[email] = Math.max(step, steps[email] ?? -Infinity);
	mkdirSync(path.dirname(stepsFile()), { recursive: true });
	writeFileSync(stepsFile(), JSON.stringify(steps));
}

/**
 * A code for the account's next unused step, from its demo secret or the given one (an
 * authenticator just set up); waits when the next step is beyond the server's window.
 */
export async function nextCode(
	email: string,
	secret = demoAccount(email).totpSecret
): Promise<{ code: string; step: number }> {
	const now = Math.floor(Date.now() / STEP_MS);
	const step = Math.max(now, (readSteps()[email] ?? -Infinity) + 1);
	// The server accepts one step ahead; beyond that, wait for time to catch up.
	const waitMs = (step - 1) * STEP_MS - Date.now();
	if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs + 200));
	noteCodeUsed(email, step);
	const code = generateHOTP(decodeBase32IgnorePadding(secret), BigInt(step), 6);
	return { code, step };
}

/** The real sign-in through the UI: email, password, then the authenticator code. */
export async function signIn(page: Page, email: string, options: { next?: string } = {}) {
	const account = demoAccount(email);
	await page.goto(options.next ? `/sign-in?next=${encodeURIComponent(options.next)}` : '/sign-in');
	await page.locator('input[name=email]').fill(account.email);
	await page.locator('input[name=password]').fill(account.password);
	await page.locator('form[action="?/password"] button[type=submit]').click();
	for (let attempt = 0; attempt < 3; attempt++) {
		await expect(page.locator('input[name=code]')).toBeVisible();
		const { code } = await nextCode(email);
		await page.locator('input[name=code]').fill(code);
		await page.locator('form[action="?/code"] button[type=submit]').click();
		await page.waitForLoadState('load');
		if (!new URL(page.url()).pathname.startsWith('/sign-in')) return;
		// A step used by an earlier worker of this run: try the following one.
	}
	throw new Error(`Could not sign in as ${email}`);
}

/**
 * Signs in over HTTP through the same sign-in actions, faster than the UI. Use the request of
 * a page or context (`page.request`, `context.request`) and the browser shares the cookie.
 */
export async function useSession(request: APIRequestContext, email: string): Promise<void> {
	const account = demoAccount(email);
	// text/html: SvelteKit answers */* as a use:enhance request (JSON), not with a redirect.
	const headers = { Origin: origin(), Accept: 'text/html' };
	const first = await request.post('/sign-in?/password', {
		form: { email: account.email, password: account.password, next: '/' },
		headers,
		maxRedirects: 0
	});
	if (first.status() !== 303)
		throw new Error(`Password step failed for ${email}: ${first.status()}`);
	for (let attempt = 0; attempt < 3; attempt++) {
		const { code } = await nextCode(email);
		const second = await request.post('/sign-in?/code', {
			form: { code, next: '/' },
			headers,
			maxRedirects: 0
		});
		if (second.status() === 303) return;
	}
	throw new Error(`Second factor failed for ${email}`);
}

/** Signs out through the header button. */
export async function signOut(page: Page) {
	await page.locator('form[action="/sign-out"] button[type=submit]').click();
	await page.waitForURL(/\/sign-in/);
}

/**
 * The newest mail to an address in the demo server's outbox (tests/e2e/serve.js gives each run
 * its own data folder under tests/.tmp), or undefined.
 */
export function readMailTo(address: string): string | undefined {
	const root = path.resolve('tests/.tmp');
	let dirs: string[];
	try {
		dirs = readdirSync(root).filter((d) => d.startsWith('e2e-'));
	} catch {
		return undefined;
	}
	for (const dir of dirs) {
		const outbox = path.join(root, dir, 'outbox');
		let files: string[];
		try {
			files = readdirSync(outbox);
		} catch {
			continue;
		}
		for (const file of files.sort().reverse()) {
			const text = readFileSync(path.join(outbox, file), 'utf8');
			if (text.includes(`To: ${address}\r\n`)) return text;
		}
	}
	return undefined;
}
