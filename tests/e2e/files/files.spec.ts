import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { DEMO, signIn } from '../helpers/auth';

/** A staff member uploads, is refused, cancels, previews and downloads, in both languages. */

const TEXT = {
	en: {
		title: 'Title',
		file: 'File',
		submit: 'Upload',
		cancel: 'Cancel upload',
		refusedType: 'This type of file is not allowed',
		mismatch: "The file's contents do not match its extension",
		cancelled: 'The upload was cancelled',
		download: 'Download',
		newVersion: 'Upload new version'
	},
	ja: {
		title: '表題',
		file: 'ファイル',
		submit: 'アップロード',
		cancel: 'アップロードを中止',
		refusedType: 'この種類のファイルはアップロードできません',
		mismatch: 'ファイルの内容が拡張子と一致しない',
		cancelled: 'アップロードを中止しました',
		download: 'ダウンロード',
		newVersion: '新しい版をアップロード'
	}
} as const;

async function axe(page: Page) {
	const results = await new AxeBuilder({ page }).analyze();
	expect(results.violations.map((v) => `${v.id}: ${v.help}`)).toEqual([]);
}

for (const [locale, account] of [
	['en', DEMO.researcher],
	['ja', DEMO.analyst]
] as const) {
	test(`upload with progress, refusals, cancel, preview and download (${locale})`, async ({
		page,
		context,
		baseURL
	}) => {
		const t = TEXT[locale];
		await context.addCookies([{ name: 'locale', value: locale, url: baseURL! }]);
		await signIn(page, account);
		await page.goto('/documents/upload');
		await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
		await axe(page);

		const fileInput = page.getByLabel(t.file, { exact: true });
		await page.getByLabel(t.title, { exact: true }).fill(`宇宙メモ ${locale}`);

		// Refused in the browser by its extension, before anything is sent.
		await fileInput.setInputFiles({
			name: 'tool.exe',
			mimeType: 'application/octet-stream',
			buffer: Buffer.from('MZ')
		});
		await page.getByRole('button', { name: t.submit, exact: true }).click();
		await expect(page.getByRole('alert')).toContainText(t.refusedType);
		await axe(page);

		// Refused by the server: an HTML page named .pdf.
		await fileInput.setInputFiles({
			name: 'fake.pdf',
			mimeType: 'application/pdf',
			buffer: Buffer.from('<html><script>alert(1)</script></html>')
		});
		await page.getByRole('button', { name: t.submit, exact: true }).click();
		await expect(page.getByRole('alert')).toContainText(t.mismatch);

		// Cancelled halfway: the upload is slowed down so that the progress bar can be seen.
		const cdp = await context.newCDPSession(page);
		await cdp.send('Network.enable');
		await cdp.send('Network.emulateNetworkConditions', {
			offline: false,
			latency: 0,
			downloadThroughput: -1,
			uploadThroughput: 256 * 1024
		});
		await fileInput.setInputFiles({
			name: 'large.txt',
			mimeType: 'text/plain',
			buffer: Buffer.alloc(8 * 1024 * 1024, 0x61)
		});
		await page.getByRole('button', { name: t.submit, exact: true }).click();
		await expect(page.getByRole('progressbar')).toBeVisible();
		await page.getByRole('button', { name: t.cancel }).click();
		await expect(page.getByRole('alert')).toContainText(t.cancelled);
		await expect(page.getByRole('progressbar')).toHaveCount(0);
		await cdp.send('Network.emulateNetworkConditions', {
			offline: false,
			latency: 0,
			downloadThroughput: -1,
			uploadThroughput: -1
		});

		// Accepted.
		await fileInput.setInputFiles({
			name: '宇宙メモ.txt',
			mimeType: 'text/plain',
			buffer: Buffer.from('暗号と宇宙の覚え書き', 'utf8')
		});
		await page.getByRole('button', { name: t.submit, exact: true }).click();
		// After the upload the browser goes to the new document's page.
		await page.waitForURL(/\/documents\/\d+$/);
		const id = /\/documents\/(\d+)$/.exec(page.url())![1];

		await page.goto(`/documents/${id}/viewer`);
		await expect(page.getByText('暗号と宇宙の覚え書き')).toBeVisible();
		await expect(page.getByText(/UNRESTRICTED|一般/).first()).toBeVisible();
		await axe(page);

		// The author adds a version; the viewer then shows it.
		await page.goto(`/documents/${id}/versions/upload`);
		await axe(page);
		await page.getByLabel(t.file, { exact: true }).setInputFiles({
			name: 'v2.txt',
			mimeType: 'text/plain',
			buffer: Buffer.from('第二版の本文')
		});
		await page.getByRole('button', { name: t.newVersion }).click();
		await page.waitForURL(new RegExp(`/documents/${id}$`));
		await page.goto(`/documents/${id}/viewer`);
		await expect(page.getByText('第二版の本文')).toBeVisible();

		const download = page.waitForEvent('download');
		await page.getByRole('link', { name: t.download }).click();
		expect((await download).suggestedFilename()).toBe('v2.txt');
	});
}
