import { expect, test, type Browser, type BrowserContext, type Page } from '@playwright/test';
import en from '../../../messages/en.json' with { type: 'json' };
import ja from '../../../messages/ja.json' with { type: 'json' };
import { DEMO, useSession } from '../helpers/auth';

// Needs the vault's /documents pages: a SECRET grant approved by a second administrator opens a
// SECRET document for the person, in the session they already have; its revocation closes it on
// their next request.
const signedIn = new Map<string, Awaited<ReturnType<BrowserContext['storageState']>>>();
async function as(browser: Browser, locale: string, email: string): Promise<Page> {
	const storageState = signedIn.get(email);
	const context = await browser.newContext({ locale, storageState });
	if (!storageState) {
		await useSession(context.request, email);
		signedIn.set(email, await context.storageState());
	}
	return context.newPage();
}
const TITLE = 'Encryption for satellite command links';

for (const { lang, locale, t } of [
	{ lang: 'en', locale: 'en-GB', t: en },
	{ lang: 'ja', locale: 'ja-JP', t: ja }
] as const) {
	test(`a SECRET grant opens a SECRET document and its revocation closes it (${lang})`, async ({
		browser
	}) => {
		const fellow = await as(browser, locale, DEMO.staff);
		await fellow.goto(`/documents?q=${encodeURIComponent('satellite command links')}`);
		const href = await fellow.getByRole('link', { name: TITLE }).first().getAttribute('href');
		const docPath = new URL(href!, 'http://x').pathname;

		const researcher = await as(browser, locale, DEMO.researcher);
		expect((await researcher.goto(docPath))!.status()).toBe(404);

		const admin = await as(browser, locale, DEMO.administrator);
		await admin.goto('/admin/accounts?q=researcher');
		await admin.getByRole('link', { name: 'Suzuki Mei' }).click();
		// A level is offered by its name with its code and rank beside it.
		await admin.getByLabel(t.admin_field_level, { exact: true }).selectOption({
			label: t.admin_level_identity
				.replace('{name}', lang === 'ja' ? '極秘' : 'SECRET')
				.replace('{code}', 'SECRET')
				.replace('{rank}', '3')
		});
		await admin.locator('#level-justification').fill(`Reads the command-link memo (${lang})`);
		await admin
			.locator('#level-end')
			.fill(new Date(Date.now() + 20 * 86_400_000).toISOString().slice(0, 10));
		await admin.getByRole('button', { name: t.admin_grant_submit }).click();
		await expect(admin.getByRole('status')).toHaveText(t.admin_done_pending);
		expect((await researcher.goto(docPath))!.status()).toBe(404);

		const second = await as(browser, locale, DEMO.administrator2);
		await second.goto('/admin/approvals');
		const request = second.locator('li', { hasText: `Reads the command-link memo (${lang})` });
		await request.getByLabel(t.admin_field_comment).fill('Approved');
		await request.getByRole('button', { name: t.admin_approve }).click();
		await expect(second.getByRole('status')).toHaveText(t.admin_done_approved);

		// The same open session, its very next request.
		expect((await researcher.goto(docPath))!.status()).toBe(200);
		await expect(researcher.getByRole('heading', { name: TITLE })).toBeVisible();

		await admin.reload();
		const row = admin.locator('tr', { hasText: `Reads the command-link memo (${lang})` });
		await row.getByLabel(t.admin_field_reason).fill('Done');
		await row.getByRole('button', { name: t.admin_revoke }).click();
		await expect(admin.getByRole('status')).toHaveText(t.admin_done_revoked);
		expect((await researcher.reload())!.status()).toBe(404);
	});
}
