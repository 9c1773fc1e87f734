import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import en from '../../../messages/en.json' with { type: 'json' };
import ja from '../../../messages/ja.json' with { type: 'json' };
import { DEMO, demoAccount, nextCode, useSession } from '../helpers/auth';

const base = () => `http://127.0.0.1:${process.env.E2E_PORT}`;

// One account per test, so that no test waits for the next authenticator time step.
const LANGS = [
	{ lang: 'en', t: en, sessions: DEMO.analyst, password: DEMO.researcher, totp: DEMO.staff },
	{ lang: 'ja', t: ja, sessions: DEMO.liaison2, password: DEMO.liaison, totp: DEMO.administrator2 }
] as const;

async function axe(page: Page) {
	const results = await new AxeBuilder({ page }).analyze();
	expect(results.violations).toEqual([]);
}

for (const { lang, t, ...emails } of LANGS) {
	test.describe(`account page (${lang})`, () => {
		test.beforeEach(async ({ context }) => {
			await context.addCookies([{ name: 'locale', value: lang, url: base() }]);
		});

		test('lists the sessions, a sign-in waiting for its code among them, and ends them', async ({
			page,
			browser
		}) => {
			const email = emails.sessions;
			const other = await browser.newContext({
				extraHTTPHeaders: { 'X-Forwarded-For': '203.0.113.99', 'X-Real-IP': '203.0.113.99' }
			});
			await useSession(other.request, email);
			// Someone who knows the password, stopped at the code step.
			const waiting = await browser.newContext();
			const headers = { Origin: base(), Accept: 'text/html' };
			const step1 = await waiting.request.post('/sign-in?/password', {
				form: { email, password: demoAccount(email).password, next: '/' },
				headers,
				maxRedirects: 0
			});
			expect(step1.status()).toBe(303);
			// Signed in last: a session ends only those that began before it.
			await useSession(page.request, email);
			await page.goto('/account');
			await expect(page.locator('html')).toHaveAttribute('lang', lang);
			await expect(page.getByRole('heading', { level: 1 })).toHaveText(t.auth_account_title);
			const rows = page.locator('tbody tr');
			await expect(rows).toHaveCount(3);
			// The other browser claimed another address; only the real one is recorded.
			await expect(rows.filter({ hasText: '203.0.113.99' })).toHaveCount(0);
			await expect(rows.filter({ hasText: '127.0.0.1' })).toHaveCount(3);
			await expect(page.getByText(t.auth_session_current)).toBeVisible();
			const pending = rows.filter({ hasText: t.auth_session_pending });
			await expect(pending).toHaveCount(1);
			await expect(page.getByText(t.auth_sessions_pending_note)).toBeVisible();
			await axe(page);

			// The waiting sign-in ends: its code step has nothing left to finish.
			await pending.getByRole('button').click();
			await expect(page.getByRole('status')).toHaveText(t.auth_session_ended);
			await expect(page.locator('tbody tr')).toHaveCount(2);
			await expect(page.getByText(t.auth_sessions_pending_note)).toHaveCount(0);
			const step2 = await waiting.request.post('/sign-in?/code', {
				form: { code: '000000', next: '/' },
				headers,
				maxRedirects: 0
			});
			expect(step2.status()).toBe(400);
			await waiting.close();

			await rows.getByRole('button', { name: t.auth_session_end, exact: false }).click();
			await expect(page.getByRole('status')).toHaveText(t.auth_session_ended);
			await expect(page.locator('tbody tr')).toHaveCount(1);
			// The other browser is signed out on its next request.
			const response = await other.request.get('/account', {
				headers: { accept: 'text/html' },
				maxRedirects: 0
			});
			expect(response.status()).toBe(303);
			await other.close();
		});

		test('changes the password (ending the other sessions) and back', async ({ page, browser }) => {
			// Two changes, each with a code of its own time step: up to a minute of waiting.
			test.setTimeout(150_000);
			const email = emails.password;
			const account = demoAccount(email);
			const other = await browser.newContext();
			await useSession(other.request, email);
			await useSession(page.request, email);
			await page.goto('/account');
			const next = `a new passphrase for ${lang} testing`;
			const form = page.locator('form[action="?/changePassword"]');

			const factor = form.getByLabel(t.auth_current_factor, { exact: true });
			// A wrong password or a refused new one tests no second factor: any code will do.
			await form.getByLabel(t.auth_current_password, { exact: true }).fill('not my password');
			await form.getByLabel(t.auth_new_password, { exact: true }).fill(next);
			await form.getByLabel(t.auth_confirm_password, { exact: true }).fill(next);
			await factor.fill('000000');
			await form.getByRole('button').click();
			await expect(page.getByRole('alert')).toHaveText(t.auth_problem_wrong_password);

			await form.getByLabel(t.auth_current_password, { exact: true }).fill(account.password);
			// Long enough for the browser's own check, but one of the most common passwords.
			await form.getByLabel(t.auth_new_password, { exact: true }).fill('123qweasdzxc');
			await form.getByLabel(t.auth_confirm_password, { exact: true }).fill('123qweasdzxc');
			await factor.fill('000000');
			await form.getByRole('button').click();
			await expect(page.getByRole('alert')).toHaveText(t.auth_problem_common);
			await axe(page);

			// The right password and a made-up code: not enough (a stolen session and a known
			// password must not lock the owner out).
			await form.getByLabel(t.auth_current_password, { exact: true }).fill(account.password);
			await form.getByLabel(t.auth_new_password, { exact: true }).fill(next);
			await form.getByLabel(t.auth_confirm_password, { exact: true }).fill(next);
			await factor.fill('ABCD-EFGH-JKLM-NPQR');
			await form.getByRole('button').click();
			await expect(page.getByRole('alert')).toHaveText(t.auth_problem_wrong_current_factor);

			await form.getByLabel(t.auth_current_password, { exact: true }).fill(account.password);
			await form.getByLabel(t.auth_new_password, { exact: true }).fill(next);
			await form.getByLabel(t.auth_confirm_password, { exact: true }).fill(next);
			await factor.fill((await nextCode(email)).code);
			await form.getByRole('button').click();
			await expect(page.getByRole('status')).toHaveText(t.auth_password_changed);
			try {
				// The other browser's connection sat idle through the steps above: the server may
				// close it just as it is reused (a reset, not an answer), so a reset is asked again
				// once, on a new connection.
				const ask = () =>
					other.request.get('/account', { headers: { accept: 'text/html' }, maxRedirects: 0 });
				const ended = await ask().catch((error: Error) => {
					if (!/ECONNRESET/.test(error.message)) throw error;
					return ask();
				});
				expect(ended.status()).toBe(303);
				await other.close();
			} finally {
				// Back to the demo password, which other tests sign in with, whatever happened
				// above (left changed, every later sign-in as this account would fail).
				await form.getByLabel(t.auth_current_password, { exact: true }).fill(next);
				await form.getByLabel(t.auth_new_password, { exact: true }).fill(account.password);
				await form.getByLabel(t.auth_confirm_password, { exact: true }).fill(account.password);
				await factor.fill((await nextCode(email)).code);
				await form.getByRole('button').click();
				await expect(page.getByRole('status')).toHaveText(t.auth_password_changed);
			}
		});

		test('sets up new recovery codes and a new authenticator, each with a current second factor', async ({
			page,
			browser
		}) => {
			// Four codes for one account need four time steps: up to a minute and a half of waiting.
			test.setTimeout(180_000);
			const email = emails.totp;
			const account = demoAccount(email);
			await useSession(page.request, email);
			await page.goto('/account');

			// New recovery codes: the password alone (or with a made-up code) is not enough.
			const codes = page.locator('form[action="?/recoveryCodes"]');
			await codes.getByLabel(t.auth_current_password, { exact: true }).fill(account.password);
			await codes.getByLabel(t.auth_current_factor, { exact: true }).fill('ABCD-EFGH-JKLM-NPQR');
			await codes.getByRole('button').click();
			await expect(page.getByRole('alert')).toHaveText(t.auth_problem_wrong_current_factor);
			await axe(page);
			await codes.getByLabel(t.auth_current_password, { exact: true }).fill(account.password);
			await codes
				.getByLabel(t.auth_current_factor, { exact: true })
				.fill((await nextCode(email)).code);
			await codes.getByRole('button').click();
			const shown = page.getByTestId('recovery-codes').locator('li');
			await expect(shown).toHaveCount(10);
			const recovery = (await shown.allTextContents()).map((code) => code.trim());
			await axe(page);

			// A new authenticator, with one of those recovery codes standing in for the current one.
			await page.goto('/account');
			await page.getByRole('link', { name: t.auth_totp_start }).click();
			await expect(page.getByRole('img', { name: t.auth_totp_qr_alt })).toBeVisible();
			await axe(page);
			const secret = (await page.getByTestId('totp-secret').textContent())!.replace(/\s/g, '');
			expect(secret).toMatch(/^[A-Z2-7]{32}$/);
			const form = page.locator('form[action="?/reenrolTotp"]');
			const first = await nextCode(email, secret);
			await form.getByLabel(t.auth_totp_code_label).fill(first.code);
			await form.getByLabel(t.auth_current_password, { exact: true }).fill(account.password);
			await form.getByLabel(t.auth_current_factor, { exact: true }).fill(recovery[0]!);
			await form.getByRole('button').click();
			await expect(page.getByRole('status')).toHaveText(t.auth_totp_replaced);

			// Sign in elsewhere with the new authenticator.
			const other = await browser.newContext();
			const headers = { Origin: base(), Accept: 'text/html' };
			const step1 = await other.request.post('/sign-in?/password', {
				form: { email, password: account.password, next: '/' },
				headers,
				maxRedirects: 0
			});
			expect(step1.status()).toBe(303);
			const second = await nextCode(email, secret);
			const step2 = await other.request.post('/sign-in?/code', {
				form: { code: second.code, next: '/' },
				headers,
				maxRedirects: 0
			});
			expect(step2.status()).toBe(303);
			await other.close();

			// Back to the demo secret (documented in the README) for the other tests, with another
			// of the recovery codes.
			await page.goto('/account?totp=new');
			await page.locator('input[name=secret]').evaluate((input, value) => {
				(input as HTMLInputElement).value = value;
			}, account.totpSecret);
			const back = await nextCode(email);
			await form.getByLabel(t.auth_totp_code_label).fill(back.code);
			await form.getByLabel(t.auth_current_password, { exact: true }).fill(account.password);
			await form.getByLabel(t.auth_current_factor, { exact: true }).fill(recovery[1]!);
			await form.getByRole('button').click();
			await expect(page.getByRole('status')).toHaveText(t.auth_totp_replaced);
		});
	});
}

test.describe('enrolment page', () => {
	for (const { lang, t } of LANGS) {
		test(`an unknown, used or expired link says so, without detail (${lang})`, async ({
			page,
			context
		}) => {
			await context.addCookies([{ name: 'locale', value: lang, url: base() }]);
			for (const token of ['A'.repeat(43), 'short', 'x'.repeat(500)]) {
				await page.goto(`/enrol/${token}`);
				await expect(page.getByRole('alert')).toHaveText(t.auth_enrol_invalid);
			}
			await axe(page);
		});
	}
});
