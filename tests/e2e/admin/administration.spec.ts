import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { decodeBase32IgnorePadding } from '@oslojs/encoding';
import { generateTOTP } from '@oslojs/otp';
import { expect, test, type Browser, type BrowserContext, type Page } from '@playwright/test';
import en from '../../../messages/en.json' with { type: 'json' };
import ja from '../../../messages/ja.json' with { type: 'json' };
import { DEMO, useSession } from '../helpers/auth';

type Messages = typeof en;
const LANGS = [
	{ lang: 'en', locale: 'en-GB', t: en as Messages },
	{ lang: 'ja', locale: 'ja-JP', t: ja as Messages }
] as const;

async function axe(page: Page) {
	const results = await new AxeBuilder({ page })
		.withTags(['wcag2a', 'wcag2aa', 'wcag22aa'])
		.analyze();
	expect(results.violations).toEqual([]);
}

// One sign-in per account for the whole file: each one spends a TOTP time step.
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

/** The demo server's outbox (tests/e2e/serve.js gives each run its own data folder). */
function mailTo(address: string): string | undefined {
	const root = path.resolve('tests/.tmp');
	for (const dir of readdirSync(root).filter((d) => d.startsWith('e2e-'))) {
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

/** A level as the administration names it: its name, with its code and rank beside it. */
function levelIdentity(t: Messages, name: string, code: string, rank: number): string {
	return t.admin_level_identity
		.replace('{name}', name)
		.replace('{code}', code)
		.replace('{rank}', String(rank));
}

function inDays(days: number): string {
	return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}

for (const { lang, locale, t } of LANGS) {
	test.describe(`administration (${lang})`, () => {
		test('an administrator creates an account and the new person enrols from the mailed link', async ({
			browser
		}) => {
			const admin = await as(browser, locale, DEMO.administrator);
			const email = `new.${lang}.${Date.now()}@jiss.example`;
			await admin.goto('/admin/accounts/new');
			await expect(admin.locator('html')).toHaveAttribute('lang', lang);
			await axe(admin);
			await admin.getByLabel(t.admin_field_name).fill(`Nakamura ${lang}`);
			await admin.getByLabel(t.admin_field_email).fill(email);
			const organisation = admin.getByLabel(t.admin_field_organisation);
			const jiss = await organisation.locator('option', { hasText: /^JISS/ }).getAttribute('value');
			await organisation.selectOption(jiss!);
			await admin.getByRole('checkbox', { name: t.admin_role_staff }).check();
			await admin.getByRole('button', { name: t.admin_create_submit }).click();
			await expect(admin.getByRole('status')).toHaveText(t.admin_created_notice);
			await expect(admin.getByTestId('account-status')).toHaveText(t.admin_status_pending);
			await axe(admin);

			const mail = await expect
				.poll(() => mailTo(email))
				.toBeTruthy()
				.then(() => mailTo(email)!);
			const link = /https?:\/\/\S+\/enrol\/[A-Za-z0-9_-]+/.exec(mail)![0];
			// The administrator's page never shows the link.
			expect(await admin.content()).not.toContain(link.split('/enrol/')[1]);

			// The new person enrols with the link from the mail.
			const person = await browser.newPage({ locale });
			await person.goto(new URL(link).pathname);
			await expect(person.locator('html')).toHaveAttribute('lang', lang);
			await person.locator('#password').fill('correct horse orbit battery 2026');
			await person.locator('#confirm').fill('correct horse orbit battery 2026');
			const secret = (await person.getByTestId('totp-secret').innerText()).replace(/\s+/g, '');
			await person.locator('#code').fill(generateTOTP(decodeBase32IgnorePadding(secret), 30, 6));
			await person.getByRole('button', { name: t.auth_enrol_submit }).click();
			await expect(person.getByRole('status')).toHaveText(t.auth_enrol_done);
			await person.context().close();
			await admin.reload();
			await expect(admin.getByTestId('account-status')).toHaveText(t.admin_status_active);
		});

		test('a SECRET grant needs a second administrator, counts at once, and its revocation too', async ({
			browser
		}) => {
			const admin = await as(browser, locale, DEMO.administrator);
			await admin.goto('/admin/accounts?q=researcher');
			await admin.getByRole('link', { name: 'Suzuki Mei' }).click();
			const level = admin.getByTestId('effective-level');
			const confidential = levelIdentity(
				t,
				lang === 'ja' ? '秘' : 'CONFIDENTIAL',
				'CONFIDENTIAL',
				2
			);
			const secret = levelIdentity(t, lang === 'ja' ? '極秘' : 'SECRET', 'SECRET', 3);
			await expect(level).toHaveText(confidential);
			await axe(admin);

			await admin.getByLabel(t.admin_field_level, { exact: true }).selectOption({ label: secret });
			await admin.locator('#level-justification').fill(`Joins the SECRET orbit study (${lang})`);
			// The date field offers no end date beyond the longest grant (GRANT_MAX_DAYS, 1826 days
			// from today in Tokyo), and says which.
			const today = new Intl.DateTimeFormat('en-CA', {
				timeZone: 'Asia/Tokyo',
				year: 'numeric',
				month: '2-digit',
				day: '2-digit'
			}).format(new Date());
			const latest = new Date(Date.parse(today) + 1826 * 86_400_000).toISOString().slice(0, 10);
			await expect(admin.locator('#level-end')).toHaveAttribute('max', latest);
			await expect(admin.locator('#level-end')).toHaveAccessibleDescription(
				t.admin_end_date_limit.replace('{days}', '1826').replace('{date}', latest)
			);
			await admin.locator('#level-end').fill(inDays(30));
			await admin.getByRole('button', { name: t.admin_grant_submit }).click();
			await expect(admin.getByRole('status')).toHaveText(t.admin_done_pending);
			await expect(level).toHaveText(confidential);

			// The requester cannot approve; a second administrator can.
			await admin.goto('/admin/approvals');
			const own = admin.locator('li', { hasText: `Joins the SECRET orbit study (${lang})` }).last();
			await expect(own.getByText(t.admin_own_request)).toBeVisible();
			await expect(own.getByRole('button', { name: t.admin_approve })).toHaveCount(0);

			const second = await as(browser, locale, DEMO.administrator2);
			await second.goto('/admin/approvals');
			await axe(second);
			const request = second
				.locator('li', { hasText: `Joins the SECRET orbit study (${lang})` })
				.last();
			await request.getByLabel(t.admin_field_comment).fill('Checked with the programme lead');
			await request.getByRole('button', { name: t.admin_approve }).click();
			await expect(second.getByRole('status')).toHaveText(t.admin_done_approved);

			await admin.goto('/admin/accounts?q=researcher');
			await admin.getByRole('link', { name: 'Suzuki Mei' }).click();
			await expect(level).toHaveText(secret);

			const row = admin.locator('tr', { hasText: `Joins the SECRET orbit study (${lang})` });
			await row.getByLabel(t.admin_field_reason).fill('Study finished');
			await row.getByRole('button', { name: t.admin_revoke }).click();
			await expect(admin.getByRole('status')).toHaveText(t.admin_done_revoked);
			await expect(level).toHaveText(confidential);
			await expect(
				admin
					.locator('tr', { hasText: `Joins the SECRET orbit study (${lang})` })
					.getByText(t.admin_grant_revoked)
			).toBeVisible();
		});

		test('an access review is exported as CSV', async ({ browser }) => {
			const admin = await as(browser, locale, DEMO.administrator);
			await admin.goto('/admin/review');
			await expect(admin.getByRole('heading', { name: t.admin_review_title })).toBeVisible();
			await axe(admin);
			const [download] = await Promise.all([
				admin.waitForEvent('download'),
				admin.getByRole('link', { name: t.admin_review_export }).click()
			]);
			const file = await download.path();
			const csv = readFileSync(file!, 'utf8');
			expect(csv.startsWith('\uFEFF"account_id"')).toBe(true);
			expect(csv).toContain('"researcher@jiss.example"');
			expect(csv).toContain('Suzuki Mei');
		});

		test('other roles find no administration there', async ({ browser }) => {
			for (const email of [DEMO.staff, DEMO.liaison, DEMO.auditor]) {
				const page = await as(browser, locale, email);
				for (const url of [
					'/admin',
					'/admin/accounts',
					'/admin/approvals',
					'/admin/review/export'
				]) {
					const response = await page.goto(url);
					expect(response!.status(), `${email} ${url}`).toBe(404);
				}
				await page.context().close();
			}
		});
	});
}
