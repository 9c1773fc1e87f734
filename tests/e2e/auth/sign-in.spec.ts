import AxeBuilder from '@axe-core/playwright';
import { expect, test } from '@playwright/test';
import { DEMO, demoAccount, signIn, signOut, useSession } from '../helpers/auth';

const base = () => `http://127.0.0.1:${process.env.E2E_PORT}`;
const fixed = 'aaaaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';

const roles = [
	{
		role: 'administrator',
		en: DEMO.administrator,
		ja: DEMO.administrator2,
		heading: /Administration/,
		headingJa: /管理/
	},
	{ role: 'auditor', en: DEMO.auditor, ja: DEMO.auditor, heading: /Audit/, headingJa: /監査/ },
	{ role: 'staff', en: DEMO.staff, ja: DEMO.researcher, heading: /Documents/, headingJa: /文書/ },
	{ role: 'liaison', en: DEMO.liaison, ja: DEMO.liaison2, heading: /Documents/, headingJa: /文書/ }
] as const;

test.describe('sign-in', () => {
	test('a page visit without a session goes to sign-in and comes back after it', async ({
		page
	}) => {
		await page.goto('/account?tab=sessions');
		await expect(page).toHaveURL(/\/sign-in\?next=%2Faccount%3Ftab%3Dsessions$/);
		await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
		const results = await new AxeBuilder({ page }).analyze();
		expect(results.violations).toEqual([]);
	});

	for (const { role, en, heading } of roles) {
		test(`signs in and out as ${role} in English`, async ({ page }) => {
			await signIn(page, en);
			await expect(page).toHaveURL(/\/$/);
			await expect(page.getByText(`Welcome, ${demoAccount(en).displayName}.`)).toBeVisible();
			await expect(page.getByRole('link', { name: heading }).first()).toBeVisible();
			if (role === 'staff') {
				const results = await new AxeBuilder({ page }).analyze();
				expect(results.violations).toEqual([]);
			}
			await signOut(page);
			await page.goto('/');
			await expect(page).toHaveURL(/\/sign-in$/);
		});
	}

	for (const { role, ja, headingJa } of roles) {
		test(`signs in and out as ${role} in Japanese`, async ({ page, context }) => {
			await context.addCookies([{ name: 'locale', value: 'ja', url: base() }]);
			await page.goto('/sign-in');
			await expect(page.getByRole('heading', { name: 'サインイン' })).toBeVisible();
			await signIn(page, ja);
			await expect(page.getByText(`${demoAccount(ja).displayName}さん、ようこそ。`)).toBeVisible();
			await expect(page.getByRole('link', { name: headingJa }).first()).toBeVisible();
			if (role === 'liaison') {
				const results = await new AxeBuilder({ page }).analyze();
				expect(results.violations).toEqual([]);
			}
			await signOut(page);
			await expect(page.getByRole('heading', { name: 'サインイン' })).toBeVisible();
		});
	}

	test('the same message for an unknown email, a wrong password and a wrong code', async ({
		page
	}) => {
		const staff = demoAccount(DEMO.analyst);
		const message = 'The email address or password is not correct, or this account cannot sign in.';
		for (const [email, password] of [
			['nobody@jiss.example', staff.password],
			[staff.email, 'not-the-password-at-all']
		]) {
			await page.goto('/sign-in');
			await page.getByLabel('Email address').fill(email!);
			await page.getByLabel('Password').fill(password!);
			await page.getByRole('button', { name: 'Continue' }).click();
			await expect(page.getByRole('alert')).toHaveText(message);
			await expect(page.getByLabel('Email address')).toHaveValue(email!);
			await expect(page.getByLabel('Password')).toHaveValue('');
		}
		await page.getByLabel('Email address').fill(staff.email);
		await page.getByLabel('Password').fill(staff.password);
		await page.getByRole('button', { name: 'Continue' }).click();
		await page.getByLabel('Authentication code').fill('12345x');
		await page.getByRole('button', { name: 'Verify' }).click();
		await expect(page.getByRole('alert')).toHaveText(
			'The code is not correct or has already been used.'
		);
		const results = await new AxeBuilder({ page }).analyze();
		expect(results.violations).toEqual([]);
		await page.getByRole('button', { name: 'Start over' }).click();
		await expect(page.getByLabel('Email address')).toBeVisible();
	});

	test('the session cookie is HttpOnly and SameSite=Lax, and renewed at sign-in', async ({
		page,
		context
	}) => {
		await context.addCookies([{ name: 'session', value: fixed, url: base() }]);
		await useSession(page.request, DEMO.analyst);
		const cookie = (await context.cookies()).find((c) => c.name === 'session');
		expect(cookie?.httpOnly).toBe(true);
		expect(cookie?.sameSite).toBe('Lax');
		expect(cookie?.path).toBe('/');
		expect(cookie?.value).toMatch(/^[a-z2-7]{24}\.[a-z2-7]{32}$/);
		expect(cookie?.value).not.toBe(fixed);
		await page.goto('/');
		await expect(page.getByText('Welcome, Kato Taro.')).toBeVisible();
		const response = await page.request.get('/');
		expect(response.headers()['cache-control']).toBe('no-store');
	});

	test('sign-out ends the server session and clears site data', async ({ page, context }) => {
		await useSession(page.request, DEMO.analyst);
		const token = (await context.cookies()).find((c) => c.name === 'session')!.value;
		const response = await page.request.post('/sign-out', {
			headers: { Origin: base() },
			maxRedirects: 0
		});
		expect(response.status()).toBe(303);
		expect(response.headers()['clear-site-data']).toContain('"cache"');
		// The old token no longer opens anything, even if a copy was kept.
		await context.addCookies([{ name: 'session', value: token, url: base() }]);
		await page.goto('/');
		await expect(page).toHaveURL(/\/sign-in$/);
	});
});
