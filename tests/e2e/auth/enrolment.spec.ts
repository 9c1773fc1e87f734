import AxeBuilder from '@axe-core/playwright';
import { decodeBase32IgnorePadding } from '@oslojs/encoding';
import { generateHOTP } from '@oslojs/otp';
import { expect, test, type Page } from '@playwright/test';
import en from '../../../messages/en.json' with { type: 'json' };
import ja from '../../../messages/ja.json' with { type: 'json' };
import { DEMO, readMailTo, useSession } from '../helpers/auth';

const base = () => `http://127.0.0.1:${process.env.E2E_PORT}`;

async function axe(page: Page) {
	const results = await new AxeBuilder({ page }).analyze();
	expect(results.violations).toEqual([]);
}

function codeAt(secret: string, offset: number): string {
	const step = Math.floor(Date.now() / 30_000) + offset;
	return generateHOTP(decodeBase32IgnorePadding(secret), BigInt(step), 6);
}

for (const { lang, t } of [
	{ lang: 'en', t: en },
	{ lang: 'ja', t: ja }
] as const) {
	test(`a new person goes from the mailed link to the home page (${lang})`, async ({ browser }) => {
		const cookies = [{ name: 'locale', value: lang, url: base() }];
		const email = `enrol.${lang}.${Date.now()}@jiss.example`;
		const name = lang === 'ja' ? '中村 花子' : 'Nakamura Hanako';

		// An administrator creates the account; the link goes by mail only.
		const adminContext = await browser.newContext();
		await adminContext.addCookies(cookies);
		await useSession(adminContext.request, DEMO.administrator);
		const admin = await adminContext.newPage();
		await admin.goto('/admin/accounts/new');
		await admin.getByLabel(t.admin_field_name, { exact: true }).fill(name);
		await admin.getByLabel(t.admin_field_email, { exact: true }).fill(email);
		const organisation = admin.getByLabel(t.admin_field_organisation, { exact: true });
		const jiss = await organisation.locator('option', { hasText: /^JISS/ }).getAttribute('value');
		await organisation.selectOption(jiss!);
		await admin.getByRole('checkbox', { name: t.admin_role_staff }).check();
		await admin.getByRole('button', { name: t.admin_create_submit }).click();
		await expect(admin.getByRole('status')).toHaveText(t.admin_created_notice);
		await adminContext.close();

		await expect.poll(() => readMailTo(email)).toBeTruthy();
		const link = /https?:\/\/\S+\/enrol\/[A-Za-z0-9_-]+/.exec(readMailTo(email)!)![0];

		// The person, in another browser.
		const context = await browser.newContext();
		await context.addCookies(cookies);
		const page = await context.newPage();
		await page.goto(new URL(link).pathname);
		await expect(page.locator('html')).toHaveAttribute('lang', lang);
		await expect(page.getByRole('heading', { level: 1 })).toHaveText(t.auth_enrol_title);
		await expect(page.getByText(email)).toBeVisible();
		await expect(page.getByRole('img', { name: t.auth_totp_qr_alt })).toBeVisible();
		await axe(page);

		const password = `${lang} enrolment passphrase, long enough`;
		const secret = (await page.getByTestId('totp-secret').textContent())!.replace(/\s/g, '');
		// A common password first: refused, the same secret stays on the page.
		await page.getByLabel(t.auth_new_password, { exact: true }).fill('123qweasdzxc');
		await page.getByLabel(t.auth_confirm_password, { exact: true }).fill('123qweasdzxc');
		await page.getByLabel(t.auth_totp_code_label).fill(codeAt(secret, 0));
		await page.getByRole('button', { name: t.auth_enrol_submit }).click();
		await expect(page.getByRole('alert')).toHaveText(t.auth_problem_common);
		await expect(page.getByTestId('totp-secret')).toHaveText(secret.match(/.{4}/g)!.join(' '));

		await page.getByLabel(t.auth_new_password, { exact: true }).fill(password);
		await page.getByLabel(t.auth_confirm_password, { exact: true }).fill(password);
		await page.getByLabel(t.auth_totp_code_label).fill(codeAt(secret, 0));
		await page.getByRole('button', { name: t.auth_enrol_submit }).click();
		await expect(page.getByRole('status')).toHaveText(t.auth_enrol_done);
		await expect(page.getByTestId('recovery-codes').locator('li')).toHaveCount(10);
		await axe(page);

		// Sign in with what was just set up (the next time step: each code counts once).
		await page.getByRole('link', { name: t.auth_enrol_go_sign_in }).click();
		await page.getByLabel(t.auth_email).fill(email);
		await page.getByLabel(t.auth_password, { exact: true }).fill(password);
		await page.getByRole('button', { name: t.auth_continue }).click();
		await page.getByLabel(t.auth_code).fill(codeAt(secret, 1));
		await page.getByRole('button', { name: t.auth_verify }).click();
		await expect(page).toHaveURL(/\/$/);
		await expect(page.getByText(t.auth_home_signed_in.replace('{name}', name))).toBeVisible();

		// The link worked once.
		await page.goto(new URL(link).pathname);
		await expect(page.getByRole('alert')).toHaveText(t.auth_enrol_invalid);
		await context.close();
	});
}
