import AxeBuilder from '@axe-core/playwright';
import { expect, test } from '@playwright/test';

test.describe('language', () => {
	test('follows the browser, then the reader’s choice, in both directions', async ({ browser }) => {
		const context = await browser.newContext({ locale: 'ja-JP' });
		const page = await context.newPage();
		await page.goto('/');
		await expect(page.locator('html')).toHaveAttribute('lang', 'ja');
		await expect(page.getByText('JISS イントラネット').first()).toBeVisible();
		// Hydrated, the page takes its language from the server's <html lang> and writes no
		// cookie of its own (Paraglide's client would, from script and without Secure).
		await page.waitForLoadState('networkidle');
		expect(await context.cookies()).toEqual([]);

		await page.getByRole('button', { name: /Switch the display language to English/ }).click();
		await expect(page.locator('html')).toHaveAttribute('lang', 'en');
		await expect(page.getByText('JISS Intranet').first()).toBeVisible();
		await expect(
			page.getByText('For authorised use only. Every access is recorded.')
		).toBeVisible();
		// The one cookie is the server's, out of reach of script.
		await page.waitForLoadState('networkidle');
		const cookies = await context.cookies();
		expect(cookies).toHaveLength(1);
		expect(cookies[0]).toMatchObject({
			name: 'locale',
			value: 'en',
			path: '/',
			httpOnly: true,
			sameSite: 'Lax'
		});
		expect(await page.evaluate(() => document.cookie)).toBe('');

		// The choice is kept in a cookie and wins over the browser's language on the next visit.
		await page.goto('/');
		await expect(page.locator('html')).toHaveAttribute('lang', 'en');

		await page.getByRole('button', { name: /Switch to Japanese/ }).click();
		await expect(page.locator('html')).toHaveAttribute('lang', 'ja');
		await expect(
			page.getByText('許可された利用者専用です。すべてのアクセスは記録されます。')
		).toBeVisible();
		await context.close();
	});

	test('an English browser gets English and the page passes an accessibility check', async ({
		page
	}) => {
		await page.goto('/');
		await expect(page.locator('html')).toHaveAttribute('lang', 'en');
		const results = await new AxeBuilder({ page })
			.withTags(['wcag2a', 'wcag2aa', 'wcag22aa'])
			.analyze();
		expect(results.violations).toEqual([]);
	});

	test('the language switch refuses to redirect off the site', async ({ request }) => {
		const response = await request.post('/language', {
			form: { locale: 'ja', redirectTo: '//evil.example/' },
			headers: { origin: new URL(test.info().project.use.baseURL!).origin },
			maxRedirects: 0
		});
		expect(response.status()).toBe(303);
		expect(response.headers()['location']).toBe('/');
	});
});
