import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { DEMO, signIn } from '../helpers/auth';
import { documentIdByTitle } from '../helpers/documents';

/**
 * The vault as each persona uses it, in English and Japanese: browse, filter, search, read a
 * memo with its banners, write, publish, version, reclassify and archive. One sign-in per
 * persona (each sign-in spends a TOTP time step), so every journey runs on one page in order.
 */
const base = () => `http://127.0.0.1:${process.env.E2E_PORT}`;

async function axe(page: Page) {
	const results = await new AxeBuilder({ page }).analyze();
	expect(results.violations).toEqual([]);
}

async function banners(page: Page, text: string) {
	const all = page.getByTestId('classification-banner');
	await expect(all).toHaveCount(2);
	await expect(all.first()).toHaveText(text);
	await expect(all.last()).toHaveText(text);
	await expect(all.first()).toHaveAttribute('data-position', 'top');
	await expect(all.last()).toHaveAttribute('data-position', 'bottom');
}

async function search(page: Page, q: string) {
	await page.goto(`/documents?q=${encodeURIComponent(q)}`);
}

test.describe.serial('staff in English', () => {
	let page: Page;
	test.beforeAll(async ({ browser }) => {
		// A context of our own: axe needs one, and the session lives in it for the whole journey.
		page = await (await browser.newContext({ baseURL: base() })).newPage();
		await signIn(page, DEMO.staff);
	});
	test.afterAll(async () => {
		await page.context().close();
	});

	test('browses and filters by level', async () => {
		await page.goto('/documents');
		await expect(page.getByRole('heading', { name: 'Documents', level: 1 })).toBeVisible();
		await expect(page.getByTestId('result-count')).toContainText('documents');
		await axe(page);
		await page.getByRole('checkbox', { name: /^SECRET \(/ }).check();
		await page.getByRole('button', { name: 'Apply filters' }).click();
		await expect(page).toHaveURL(/level=3/);
		const badges = page
			.getByRole('list', { name: 'Documents found' })
			.locator('li > div > span:first-child');
		expect(await badges.count()).toBeGreaterThan(0);
		for (const text of await badges.allTextContents()) expect(text).toContain('SECRET//');
	});

	test('searches Japanese text and opens a memo with banners top and bottom', async () => {
		await search(page, '暗号');
		await expect(page.getByTestId('result-count')).toHaveText('2 documents match “暗号”');
		await expect(page.locator('mark').first()).toHaveText('暗号');
		await page.getByRole('link', { name: 'Encryption for satellite command links' }).click();
		await expect(
			page.getByRole('heading', { name: 'Encryption for satellite command links' })
		).toBeVisible();
		await banners(page, 'SECRET//SDA//REL TO JISS, USA');
		await expect(page.getByRole('heading', { name: 'Command-link encryption' })).toBeVisible();
		await expect(page.getByRole('heading', { name: 'Version history' })).toBeVisible();
		await axe(page);
	});

	test('writes a memo with a preview, publishes, versions, reclassifies and archives it', async () => {
		await page.goto('/documents/new');
		await expect(page.getByRole('heading', { name: 'Write a memo' })).toBeVisible();
		await page.getByLabel('Title').fill('E2E memo on 宇宙 sensors');
		await page.getByLabel('Summary').fill('Written by the browser test.');
		await page
			.getByLabel('Text (Markdown)')
			.fill('# Findings\n\nSensors are **essential**.\n\n<script>alert(1)</script>');
		await page.getByLabel('Tags').fill('e2e, sensors');
		await page.getByLabel('Level').selectOption({ label: 'CONFIDENTIAL' });
		await page.getByRole('checkbox', { name: /^SDA/ }).check();
		await page.getByRole('checkbox', { name: /^USA/ }).check();
		await page.getByRole('button', { name: 'Preview' }).click();
		const preview = page.getByRole('region', { name: 'Preview' });
		await expect(preview.locator('strong')).toHaveText('essential');
		await expect(preview).toContainText('<script>alert(1)</script>');
		await axe(page);
		await page.getByRole('button', { name: 'Save as draft' }).click();

		await expect(page.getByRole('heading', { name: 'E2E memo on 宇宙 sensors' })).toBeVisible();
		await expect(page.getByTestId('document-status')).toHaveText('Draft');
		await banners(page, 'CONFIDENTIAL//SDA//REL TO JISS, USA');
		await page.getByRole('button', { name: 'Publish' }).click();
		await expect(page.getByTestId('document-status')).toHaveText('Published');

		await page.getByRole('link', { name: 'Edit (new version)' }).click();
		await page
			.getByLabel('Text (Markdown)')
			.fill('# Findings\n\nRevised: sensors are **critical**.');
		await page.getByLabel('Version note').fill('Second version');
		await page.getByRole('button', { name: 'Save new version' }).click();
		await expect(page.locator('.memo strong')).toHaveText('critical');
		const rows = page.getByRole('table').locator('tbody tr');
		await expect(rows).toHaveCount(2);
		await expect(rows.first()).toContainText('Second version');

		await page.getByRole('link', { name: 'Reclassify' }).click();
		await page.getByLabel('Level').selectOption({ label: 'RESTRICTED' });
		await page.getByRole('checkbox', { name: /^SDA/ }).uncheck();
		await page.getByRole('button', { name: 'Reclassify' }).click();
		// The reason is required: the browser keeps the form until it is given.
		await expect(page).toHaveURL(/\/reclassify$/);
		await page.getByLabel(/Reason for the change/).fill('No SDA sources left after revision');
		await axe(page);
		await page.getByRole('button', { name: 'Reclassify' }).click();
		await banners(page, 'RESTRICTED//REL TO JISS, USA');

		await page.getByRole('button', { name: 'Archive' }).click();
		await expect(page.getByTestId('document-status')).toHaveText('Archived');
		await expect(page.getByText('This document is archived.')).toBeVisible();
		await expect(page.getByRole('link', { name: 'Edit (new version)' })).toHaveCount(0);
	});

	test('refuses a level above the author in a forged form post', async () => {
		const response = await page.request.post('/documents/new', {
			form: {
				title: 'Forged',
				summary: '',
				body: 'x',
				tags: '',
				levelRank: '9',
				release: 'JISS',
				publish: 'publish'
			},
			headers: { Origin: base(), Accept: 'text/html' }
		});
		expect(response.status()).toBe(403);
		await search(page, 'Forged');
		await expect(page.getByTestId('result-count')).toHaveText('0 documents match “Forged”');
	});
});

test.describe.serial('staff in Japanese', () => {
	let page: Page;
	test.beforeAll(async ({ browser }) => {
		const context = await browser.newContext({ baseURL: base() });
		await context.addCookies([{ name: 'locale', value: 'ja', url: base() }]);
		page = await context.newPage();
		await signIn(page, DEMO.researcher);
	});
	test.afterAll(async () => {
		await page.context().close();
	});

	test('searches, reads a memo with Japanese banners and writes one', async () => {
		await search(page, '宇宙領域');
		await expect(page.getByRole('heading', { name: '文書', level: 1 })).toBeVisible();
		await axe(page);
		await page.getByRole('link', { name: '宇宙領域把握の体制' }).click();
		await banners(page, '秘//SDA//REL TO JISS');
		await expect(page.getByRole('heading', { name: '版の履歴' })).toBeVisible();
		await axe(page);

		await page.goto('/documents/new');
		await page.getByLabel('タイトル').fill('試験メモ：暗号と衛星');
		await page.getByLabel('本文（Markdown）').fill('# 結論\n\n**暗号**の更新が必要である。');
		await page.getByLabel('区分').selectOption({ label: '一般' });
		await axe(page);
		await page.getByRole('button', { name: '保存して公開' }).click();
		await expect(page.getByRole('heading', { name: '試験メモ：暗号と衛星' })).toBeVisible();
		await banners(page, '一般//REL TO JISS');
		await expect(page.getByTestId('document-status')).toHaveText('公開');
	});
});

test.describe.serial('liaison in English', () => {
	let page: Page;
	test.beforeAll(async ({ browser }) => {
		// A context of our own: axe needs one, and the session lives in it for the whole journey.
		page = await (await browser.newContext({ baseURL: base() })).newPage();
		await signIn(page, DEMO.liaison);
	});
	test.afterAll(async () => {
		await page.context().close();
	});

	test('sees only what was released to their organisation', async () => {
		await page.goto('/documents');
		await expect(
			page.getByRole('link', { name: 'U.S. liaison note: SDA data-sharing conditions' })
		).toBeVisible();
		await expect(
			page.getByRole('link', { name: 'Mission statement and key objectives' })
		).toHaveCount(0);
		await axe(page);
		await search(page, 'Mission statement');
		await expect(page.getByTestId('result-count')).toHaveText(
			'0 documents match “Mission statement”'
		);
		// Matches above the liaison (MD) count for nothing either.
		await search(page, '暗号');
		await expect(page.getByTestId('result-count')).toHaveText('1 documents match “暗号”');
	});

	test('gets the same not-found page for an unreleased document and an unknown one', async ({
		browser
	}) => {
		// A JISS-only demo document, its id found by a JISS reader.
		const id = await documentIdByTitle(browser, 'Mission statement and key objectives');
		const hidden = await page.goto(`/documents/${id}`);
		const hiddenText = await page.locator('main').innerText();
		const unknown = await page.goto('/documents/999999');
		const unknownText = await page.locator('main').innerText();
		expect(hidden?.status()).toBe(404);
		expect(unknown?.status()).toBe(404);
		expect(hiddenText).toBe(unknownText);
		await expect(page.getByRole('heading', { name: 'Not found' })).toBeVisible();
	});

	test('writes a memo that originates from their organisation', async () => {
		await page.goto('/documents/new');
		await expect(page.getByLabel('Originator')).toHaveCount(0);
		await page.getByLabel('Title').fill('Liaison e2e note');
		await page.getByLabel('Text (Markdown)').fill('Shared with JISS.');
		await page.getByLabel('Level').selectOption({ label: 'RESTRICTED' });
		await axe(page);
		await page.getByRole('button', { name: 'Save and publish' }).click();
		await banners(page, 'RESTRICTED//REL TO JISS, USA');
		await expect(page.locator('dt:text-is("Originator") + dd')).toHaveText(
			'USA (U.S. Space Policy Liaison Office)'
		);
	});
});

test.describe.serial('liaison in Japanese', () => {
	let page: Page;
	test.beforeAll(async ({ browser }) => {
		const context = await browser.newContext({ baseURL: base() });
		await context.addCookies([{ name: 'locale', value: 'ja', url: base() }]);
		page = await context.newPage();
		await signIn(page, DEMO.liaison2);
	});
	test.afterAll(async () => {
		await page.context().close();
	});

	test('reads a document released to their organisation and not the others', async () => {
		await page.goto('/documents?compartment=PNT');
		await page
			.getByRole('link', { name: 'Resilience of positioning, navigation and timing' })
			.click();
		await banners(page, '秘//PNT//REL TO JISS, AUS');
		await axe(page);
		await search(page, '宇宙領域');
		await expect(page.getByTestId('result-count')).toHaveText('「宇宙領域」に一致する文書 0 件');
	});
});
