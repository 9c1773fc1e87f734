import { readFileSync } from 'node:fs';
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { DEMO, useSession } from '../helpers/auth';
import { documentIdByTitle } from '../helpers/documents';

async function expectAccessible(page: Page) {
	const results = await new AxeBuilder({ page })
		.withTags(['wcag2a', 'wcag2aa', 'wcag22aa'])
		.analyze();
	expect(results.violations).toEqual([]);
}

const text = {
	en: {
		log: 'Audit log',
		outcome: 'Outcome',
		denied: 'Denied',
		apply: 'Apply filters',
		details: 'Details',
		history: (id: number) => `Access history of document #${id}`,
		exportCsv: 'Export CSV',
		review: 'Access review',
		integrity: 'Integrity',
		verify: 'Verify the whole log',
		intact: /The audit log is intact/,
		keys: 'Checkpoint signing keys'
	},
	ja: {
		log: '監査ログ',
		outcome: '結果',
		denied: '拒否',
		apply: '絞り込む',
		details: '詳細',
		history: (id: number) => `文書 #${id} のアクセス履歴`,
		exportCsv: 'CSVで書き出し',
		review: 'アクセスレビュー',
		integrity: '完全性検証',
		verify: 'ログ全体を検証',
		intact: /監査ログは完全です/,
		keys: 'チェックポイント署名鍵'
	}
} as const;

test.describe('audit workspace', () => {
	test('is a 404 for everyone but auditors', async ({ page }) => {
		await useSession(page.request, DEMO.administrator);
		for (const path of ['/audit', '/audit/review', '/audit/integrity', '/audit/events/1']) {
			const response = await page.goto(path);
			expect(response?.status(), path).toBe(404);
		}
		const response = await page.request.get('/audit/export?format=csv');
		expect(response.status()).toBe(404);
	});

	for (const locale of ['en', 'ja'] as const) {
		test(`an auditor filters, follows a document, exports and verifies (${locale})`, async ({
			browser
		}) => {
			const t = text[locale];
			const context = await browser.newContext({
				locale: locale === 'ja' ? 'ja-JP' : 'en-GB',
				acceptDownloads: true
			});
			const page = await context.newPage();
			// A refused visit by someone else, for the auditor to find (an account no spec counts sessions of).
			const other = await browser.newContext();
			await useSession(other.request, DEMO.administrator);
			expect((await other.request.get('/audit')).status()).toBe(404);
			await other.close();

			await useSession(page.request, DEMO.auditor);
			await page.goto('/audit');
			await expect(page.getByRole('heading', { level: 1, name: t.log })).toBeVisible();
			await expectAccessible(page);

			await page.getByLabel(t.outcome).selectOption('denied');
			await page.getByRole('button', { name: t.apply }).click();
			await expect(page).toHaveURL(/outcome=denied/);
			const firstRow = page.getByRole('table').getByRole('row').nth(1);
			await expect(firstRow).toContainText('audit.denied');
			await expect(firstRow).toContainText(t.denied);

			await firstRow.getByRole('link').first().click();
			await expect(page.getByRole('heading', { level: 2, name: t.details })).toBeVisible();
			await expect(page.getByText('"reason": "role"')).toBeVisible();
			await expectAccessible(page);

			const id = await documentIdByTitle(
				browser,
				'About the institute: background of the establishment'
			);
			await page.goto(`/audit/documents/${id}`);
			await expect(page.getByRole('heading', { level: 1, name: t.history(id) })).toBeVisible();
			await expectAccessible(page);

			await page.goto('/audit?outcome=denied');
			const downloading = page.waitForEvent('download');
			await page.getByRole('link', { name: t.exportCsv }).click();
			const download = await downloading;
			const csv = readFileSync((await download.path())!);
			expect([...csv.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
			expect(csv.toString('utf8')).toContain('audit.denied');

			await page
				.getByRole('navigation', { name: /Audit workspace|監査ワークスペース/ })
				.getByRole('link', { name: t.review })
				.click();
			await expect(page.getByRole('heading', { level: 1, name: t.review })).toBeVisible();
			await expect(page.getByRole('table')).toContainText('auditor@jiss.example');
			await expectAccessible(page);

			await page.goto('/audit/integrity');
			await expect(page.getByRole('heading', { level: 1, name: t.integrity })).toBeVisible();
			await expect(page.getByRole('heading', { level: 2, name: t.keys })).toBeVisible();
			await page.getByRole('button', { name: t.verify }).click();
			await expect(page.getByText(t.intact)).toBeVisible();
			await expectAccessible(page);

			// The export and the verification are themselves in the log.
			await page.goto('/audit?action=audit.verified');
			await expect(page.getByRole('table')).toContainText('audit.verified');
			await page.goto('/audit?action=audit.exported');
			await expect(page.getByRole('table')).toContainText('audit.exported');
			await context.close();
		});
	}
});
