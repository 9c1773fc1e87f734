import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodeBase32IgnorePadding } from '@oslojs/encoding';
import { generateHOTP } from '@oslojs/otp';
import { expect, test, type Page } from '@playwright/test';
import en from '../../../messages/en.json' with { type: 'json' };
import postgres from 'postgres';
import { buildCommands } from '../../helpers/cli';
import { freePort } from '../../helpers/ports';
import { startS3Server, S3RVER_CREDENTIALS, type RunningS3 } from '../../helpers/s3';
import { startSmtpCapture, textOf, type RunningSmtp } from '../../helpers/smtp';
import { startTlsProxy, type RunningTlsProxy } from '../../helpers/tls-proxy';

/*
 * The production shape's first run, end to end: the built server in production mode on an empty
 * PostgreSQL database, s3rver as its object store and an SMTP relay that keeps what it is sent,
 * behind a TLS proxy (production requires an https ORIGIN and sets `__Host-` Secure cookies).
 * Nobody can sign in until the operator's bootstrap command has made the first administrator;
 * the mailed link then leads to a password and an authenticator, and sign-in to the
 * administration with the default ladder. The first administrator goes through it over HTTP
 * straight to the app (the requests carry the Origin a browser would send); the second in a
 * browser, over https through the proxy, with production's headers and content security policy.
 */

const serverUrl = process.env.DATABASE_URL;

const key = (id: string) => `${id}:${randomBytes(32).toString('base64')}`;

function codeAt(secret: string, step: number): string {
	return generateHOTP(decodeBase32IgnorePadding(secret), BigInt(step), 6);
}

/** The cookie a response set, as the next request sends it back. */
function cookieFrom(response: Response): string {
	const set = response.headers.getSetCookie().find((c) => c.startsWith('__Host-session='));
	expect(set, 'a __Host-session cookie').toBeTruthy();
	expect(set).toMatch(/; Secure/i);
	return set!.split(';')[0]!;
}

test.describe('production, first run', () => {
	test.skip(!serverUrl, 'production runs on a PostgreSQL server (set DATABASE_URL)');
	// The browser's administrator is the second one the first test's bootstrap made.
	test.describe.configure({ mode: 'serial' });

	let s3: RunningS3;
	let smtp: RunningSmtp;
	let proxy: RunningTlsProxy;
	let ORIGIN: string;
	let server: ChildProcess;
	let env: Record<string, string>;
	let base: string;
	let serverOutput = '';
	const cleanup: (() => Promise<unknown> | void)[] = [];

	test.beforeAll(async () => {
		const name = `jiss_production_${randomBytes(4).toString('hex')}`;
		const admin = postgres(serverUrl!, { max: 1, onnotice: () => {} });
		await admin.unsafe(`create database ${name}`);
		await admin.end();
		cleanup.push(async () => {
			const dropper = postgres(serverUrl!, { max: 1, onnotice: () => {} });
			await dropper.unsafe(`drop database if exists ${name} with (force)`);
			await dropper.end();
		});
		const url = new URL(serverUrl!);
		url.pathname = `/${name}`;
		// The production shape: the app connects as a role of its own that may read and write
		// rows, and migrates through the owner's URL (here the server's superuser), after which
		// that role may only read and add audit events.
		const appRole = `${name}_app`;
		const owner = postgres(url.toString(), { max: 1, onnotice: () => {} });
		await owner`create role ${owner(appRole)} login`;
		cleanup.unshift(async () => {
			const dropper = postgres(serverUrl!, { max: 1, onnotice: () => {} });
			await dropper`drop role if exists ${dropper(appRole)}`;
			await dropper.end();
		});
		await owner`alter default privileges in schema public
			grant select, insert, update, delete on tables to ${owner(appRole)}`;
		await owner`alter default privileges in schema public
			grant usage, select on sequences to ${owner(appRole)}`;
		await owner.end();
		const appUrl = new URL(url);
		appUrl.username = appRole;

		s3 = await startS3Server('jiss-production');
		cleanup.push(() => s3.stop());
		smtp = await startSmtpCapture();
		cleanup.push(() => smtp.stop());
		const dataDir = mkdtempSync(path.join(os.tmpdir(), 'jiss-production-'));
		cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));

		buildCommands();

		proxy = await startTlsProxy();
		cleanup.push(() => proxy.stop());
		ORIGIN = proxy.origin;
		const port = await freePort();
		proxy.forwardTo(port);
		base = `http://127.0.0.1:${port}`;
		env = {
			PATH: process.env.PATH ?? '',
			INTRANET_MODE: 'production',
			PORT: String(port),
			HOST: '127.0.0.1',
			BODY_SIZE_LIMIT: 'Infinity',
			DATA_DIR: dataDir,
			LOG_LEVEL: 'warn',
			DATABASE_URL: appUrl.toString(),
			DATABASE_OWNER_URL: url.toString(),
			S3_BUCKET: s3.bucket,
			S3_ENDPOINT: s3.endpoint,
			S3_FORCE_PATH_STYLE: 'true',
			S3_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
			S3_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
			ORIGIN,
			SMTP_URL: smtp.url,
			MFA_ENCRYPTION_KEYS: key('mfa1'),
			AUDIT_SIGNING_KEY: key('audit1')
		};
		server = spawn(process.execPath, ['server.js'], {
			env,
			stdio: ['ignore', 'pipe', 'pipe']
		});
		for (const [from, to] of [
			[server.stdout!, process.stdout],
			[server.stderr!, process.stderr]
		] as const) {
			from.on('data', (chunk: Buffer) => {
				serverOutput += chunk.toString();
				to.write(chunk);
			});
		}
		const exited = new Promise((resolve) => server.once('exit', resolve));
		cleanup.push(async () => {
			if (server.exitCode === null && server.signalCode === null) {
				server.kill('SIGTERM');
				await exited;
			}
		});
		await expect
			.poll(async () => (await fetch(`${base}/readyz`).catch(() => null))?.status, {
				timeout: 30_000
			})
			.toBe(200);
	});

	test.afterAll(async () => {
		for (const step of cleanup.reverse()) await step();
	});

	/**
	 * The operator's command, bundled as `npm run bootstrap` runs it, with the app's environment.
	 * Not spawnSync: the SMTP relay it mails through runs in this process.
	 */
	async function bootstrap(email: string, displayName: string) {
		const child = spawn(
			process.execPath,
			[
				'build/cli/bootstrap.js',
				'--email',
				email,
				'--name',
				displayName,
				'--reason',
				'First administrators of the intranet'
			],
			{ env, stdio: ['ignore', 'pipe', 'pipe'] }
		);
		let stdout = '';
		let stderr = '';
		child.stdout!.on('data', (chunk) => (stdout += chunk));
		child.stderr!.on('data', (chunk) => (stderr += chunk));
		const status = await new Promise<number | null>((resolve) => child.once('exit', resolve));
		return { status, stdout, stderr };
	}

	function post(pathname: string, fields: Record<string, string>, cookie?: string) {
		return fetch(`${base}${pathname}`, {
			method: 'POST',
			redirect: 'manual',
			// As a browser's form post: an HTML answer (fail's status, redirects as 303).
			headers: {
				accept: 'text/html',
				origin: ORIGIN,
				'content-type': 'application/x-www-form-urlencoded',
				...(cookie ? { cookie } : {})
			},
			body: new URLSearchParams(fields)
		});
	}

	test('an empty database, the bootstrap command, the mailed link, sign-in, administration', async () => {
		// Its role was narrowed on the audit log by the migration at start: no warning of it.
		expect(serverOutput).not.toContain('can rewrite the audit log');
		// Never seeded: the server runs, and nobody can sign in.
		expect((await fetch(`${base}/sign-in`)).status).toBe(200);
		const nobody = await post('/sign-in?/password', {
			email: 'hana.ito@jiss.example',
			password: 'a long enough passphrase here',
			next: '/'
		});
		expect(nobody.status).toBe(400);

		const first = await bootstrap('hana.ito@jiss.example', 'Ito Hana');
		expect(first.status, first.stderr).toBe(0);
		expect(first.stdout).toContain('the default level ladder was created');
		expect(first.stdout).not.toContain('/enrol/');

		// The link went through the SMTP relay, to the person only.
		expect(smtp.received).toHaveLength(1);
		expect(smtp.received[0]!.to).toEqual(['hana.ito@jiss.example']);
		const text = textOf(smtp.received[0]!);
		expect(text).toContain('An account has been created for you');
		const link = new RegExp(`${ORIGIN}/enrol/([A-Za-z0-9_-]{43})`).exec(text);
		expect(link, text).toBeTruthy();
		const enrolPath = `/enrol/${link![1]}`;

		const page = await (await fetch(`${base}${enrolPath}`)).text();
		const secret = /name="secret" value="([A-Z2-7]+)"/.exec(page)![1]!;
		const step = Math.floor(Date.now() / 30_000);
		const password = 'the first administrator passphrase';
		const enrolled = await post(enrolPath, {
			username: 'hana.ito@jiss.example',
			password,
			confirm: password,
			secret,
			code: codeAt(secret, step)
		});
		expect(enrolled.status).toBe(200);
		expect(await enrolled.text()).toContain('data-testid="recovery-codes"');

		// Sign-in: the password, then the next step's code (each step counts once).
		const first_step = await post('/sign-in?/password', {
			email: 'hana.ito@jiss.example',
			password,
			next: '/admin/reference'
		});
		expect(first_step.status).toBe(303);
		const waiting = cookieFrom(first_step);
		const second_step = await post(
			'/sign-in?/code',
			{ code: codeAt(secret, step + 1), next: '/admin/reference' },
			waiting
		);
		expect(second_step.status).toBe(303);
		expect(second_step.headers.get('location')).toBe('/admin/reference');
		const session = cookieFrom(second_step);

		const reference = await fetch(`${base}/admin/reference`, { headers: { cookie: session } });
		expect(reference.status).toBe(200);
		const html = await reference.text();
		for (const level of ['UNRESTRICTED', 'RESTRICTED', 'CONFIDENTIAL', 'SECRET', 'TOP SECRET'])
			expect(html).toContain(level);
		expect(html).toContain('Japan Institute for Space and Security');

		// A second administrator for the two-person rule; then the command has done its part.
		expect((await bootstrap('kenji.sato@jiss.example', 'Sato Kenji')).status).toBe(0);
		expect(smtp.received.map((m) => m.to[0])).toEqual([
			'hana.ito@jiss.example',
			'kenji.sato@jiss.example'
		]);
		const third = await bootstrap('third@jiss.example', 'Three');
		expect(third.status).toBe(2);
		expect(third.stderr).toContain('Refused: 2 administrators are active or enrolling already');
	});

	/** Failures the page reports: script errors and console errors (a CSP violation is one). */
	function watchForProblems(page: Page): string[] {
		const problems: string[] = [];
		page.on('pageerror', (error) => problems.push(error.message));
		page.on('console', (message) => {
			if (message.type() === 'error') problems.push(message.text());
		});
		return problems;
	}

	test('the second administrator in a browser over https: enrolment, sign-in, headers, sign-out', async ({
		browser
	}) => {
		const mail = smtp.received.find((m) => m.to[0] === 'kenji.sato@jiss.example');
		expect(mail, 'the bootstrap mail to the second administrator').toBeTruthy();
		const link = new RegExp(`${ORIGIN}/enrol/[A-Za-z0-9_-]{43}`).exec(textOf(mail!))?.[0];
		expect(link).toBeTruthy();

		const context = await browser.newContext({ ignoreHTTPSErrors: true, locale: 'en-GB' });
		try {
			const page = await context.newPage();
			const problems = watchForProblems(page);
			// Every cookie: the pages write none of their own (not even the language's).
			const authCookies = () => context.cookies(ORIGIN);

			const opened = await page.goto(link!);
			expect(opened!.status()).toBe(200);
			const headers = opened!.headers();
			expect(headers['strict-transport-security']).toBe('max-age=63072000; includeSubDomains');
			const csp = headers['content-security-policy'] ?? '';
			const scripts = /script-src ([^;]*)/.exec(csp)?.[1] ?? '';
			expect(scripts).toContain("'nonce-");
			expect(scripts).not.toMatch(/unsafe|\*/);
			// The page's inline start-up script ran under that policy (its nonce matched): the
			// app is hydrated, not only server-rendered.
			expect(
				await page.evaluate(() => Object.keys(window).some((k) => k.startsWith('__sveltekit_')))
			).toBe(true);

			const password = 'the second administrator passphrase';
			await page.locator('#password').fill(password);
			await page.locator('#confirm').fill(password);
			const secret = (await page.getByTestId('totp-secret').innerText()).replace(/\s+/g, '');
			const step = Math.floor(Date.now() / 30_000);
			await page.locator('#code').fill(codeAt(secret, step));
			await page.getByRole('button', { name: en.auth_enrol_submit }).click();
			await expect(page.getByRole('status')).toHaveText(en.auth_enrol_done);
			await expect(page.getByTestId('recovery-codes')).toBeVisible();
			// Enrolment signs nobody in.
			expect(await authCookies()).toEqual([]);

			await page.goto(`${ORIGIN}/sign-in?next=${encodeURIComponent('/admin/reference')}`);
			await page.locator('input[name=email]').fill('kenji.sato@jiss.example');
			await page.locator('input[name=password]').fill(password);
			await page.locator('form[action="?/password"] button[type=submit]').click();
			await page.locator('input[name=code]').fill(codeAt(secret, step + 1));
			await page.locator('form[action="?/code"] button[type=submit]').click();
			await page.waitForURL(`${ORIGIN}/admin/reference`);
			for (const level of ['UNRESTRICTED', 'RESTRICTED', 'CONFIDENTIAL', 'SECRET', 'TOP SECRET'])
				await expect(page.getByText(level, { exact: true }).first()).toBeVisible();

			// The session cookie as production sets it: host-bound, Secure, not readable by script.
			const cookies = await authCookies();
			expect(cookies.map((c) => c.name)).toEqual(['__Host-session']);
			expect(cookies[0]).toMatchObject({
				domain: 'localhost',
				path: '/',
				secure: true,
				httpOnly: true
			});
			expect(await page.evaluate(() => document.cookie)).not.toContain('session');

			await page.locator('form[action="/sign-out"] button[type=submit]').click();
			await page.waitForURL(/\/sign-in/);
			expect(await authCookies()).toEqual([]);
			// The old page is gone with the session.
			await page.goto(`${ORIGIN}/admin/reference`);
			await expect(page).toHaveURL(/\/sign-in/);

			// The language choice is the server's cookie: Secure, and out of reach of script.
			await page.getByRole('button', { name: en.language_switch_label }).click();
			await expect(page.locator('html')).toHaveAttribute('lang', 'ja');
			await page.waitForLoadState('networkidle');
			const chosen = await authCookies();
			expect(chosen).toHaveLength(1);
			expect(chosen[0]).toMatchObject({
				name: 'locale',
				value: 'ja',
				secure: true,
				httpOnly: true
			});

			expect(problems).toEqual([]);
		} finally {
			await context.close();
		}
	});
});
