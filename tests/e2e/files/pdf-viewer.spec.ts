import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { DEMO, useSession } from '../helpers/auth';

/**
 * A PDF is drawn in the page by pdf.js (the browser's own viewer does not run under the
 * preview's sandbox, and framing is forbidden), under the page's CSP, in both languages.
 */

const TEXT = {
	en: {
		title: 'Title',
		file: 'File',
		level: 'Classification level',
		submit: 'Upload',
		previous: 'Previous page',
		next: 'Next page',
		zoomIn: 'Zoom in',
		zoomOut: 'Zoom out',
		page: (n: number, count: number) => `Page ${n} of ${count}`
	},
	ja: {
		title: '表題',
		file: 'ファイル',
		level: '秘密区分',
		submit: 'アップロード',
		previous: '前のページ',
		next: '次のページ',
		zoomIn: '拡大',
		zoomOut: '縮小',
		page: (n: number, count: number) => `${count}ページ中${n}ページ`
	}
} as const;

type Rgb = [number, number, number];
const RED: Rgb = [1, 0, 0];
const BLUE: Rgb = [0, 0, 1];

/** A minimal PDF whose pages are each filled (but for a margin) with one colour. */
function pdfOf(pages: Rgb[]): Buffer {
	const objects: string[] = [];
	objects[1] = '<< /Type /Catalog /Pages 2 0 R >>';
	objects[2] = `<< /Type /Pages /Kids [${pages.map((_, i) => `${3 + i * 2} 0 R`).join(' ')}] /Count ${pages.length} >>`;
	pages.forEach(([r, g, b], i) => {
		const id = 3 + i * 2;
		const content = `${r} ${g} ${b} rg 20 20 260 260 re f`;
		objects[id] = `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 300] /Contents ${id + 1} 0 R >>`;
		objects[id + 1] = `<< /Length ${content.length} >>\nstream\n${content}\nendstream`;
	});
	let body = '%PDF-1.4\n';
	const offsets: number[] = [];
	for (let id = 1; id < objects.length; id++) {
		offsets[id] = body.length;
		body += `${id} 0 obj\n${objects[id]}\nendobj\n`;
	}
	const xref = body.length;
	body += `xref\n0 ${objects.length}\n0000000000 65535 f \n`;
	for (let id = 1; id < objects.length; id++)
		body += `${String(offsets[id]).padStart(10, '0')} 00000 n \n`;
	body += `trailer\n<< /Size ${objects.length} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
	return Buffer.from(body, 'latin1');
}

/** The colour at the middle of the drawn page, or null while nothing is drawn. */
async function centreColour(page: Page): Promise<string | null> {
	return page.locator('canvas').evaluate((canvas: HTMLCanvasElement) => {
		if (canvas.width === 0 || canvas.height === 0) return null;
		const context = canvas.getContext('2d');
		if (!context) return null;
		const [r = 0, g = 0, b = 0] = context.getImageData(
			canvas.width / 2,
			canvas.height / 2,
			1,
			1
		).data;
		if (r > 200 && g < 60 && b < 60) return 'red';
		if (b > 200 && r < 60 && g < 60) return 'blue';
		if (r > 240 && g > 240 && b > 240) return 'white';
		return `${r},${g},${b}`;
	});
}

async function axe(page: Page) {
	const results = await new AxeBuilder({ page }).analyze();
	expect(results.violations.map((v) => `${v.id}: ${v.help}`)).toEqual([]);
}

async function upload(page: Page, locale: 'en' | 'ja', title: string, pdf: Buffer, top = false) {
	const t = TEXT[locale];
	await page.goto('/documents/upload');
	await page.getByLabel(t.title, { exact: true }).fill(title);
	if (top) {
		const level = page.getByLabel(t.level, { exact: true });
		// The highest level the author may give: above what the other reader is cleared for.
		await level.selectOption({ index: (await level.locator('option').count()) - 1 });
	}
	await page.getByLabel(t.file, { exact: true }).setInputFiles({
		name: 'colours.pdf',
		mimeType: 'application/pdf',
		buffer: pdf
	});
	await page.getByRole('button', { name: t.submit, exact: true }).click();
	await page.waitForURL(/\/documents\/\d+$/);
	return /\/documents\/(\d+)$/.exec(page.url())![1];
}

for (const locale of ['en', 'ja'] as const) {
	test(`a two-page PDF is drawn with pdf.js, paged and zoomed under the CSP (${locale})`, async ({
		page,
		context,
		baseURL
	}) => {
		const t = TEXT[locale];
		const problems: string[] = [];
		page.on('console', (message) => {
			if (message.type() === 'error') problems.push(`console: ${message.text()}`);
		});
		page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
		const workers: string[] = [];
		page.on('worker', (worker) => {
			workers.push(worker.url());
			worker.on('console', (message) => {
				if (message.type() === 'error') problems.push(`worker console: ${message.text()}`);
			});
		});
		await page.addInitScript(() => {
			document.addEventListener('securitypolicyviolation', (event) => {
				const list = ((window as unknown as { cspViolations?: string[] }).cspViolations ??= []);
				list.push(`${event.violatedDirective} ${event.blockedURI}`);
			});
		});

		await context.addCookies([{ name: 'locale', value: locale, url: baseURL! }]);
		await useSession(page.request, DEMO.staff);
		const id = await upload(page, locale, `色見本 PDF ${locale}`, pdfOf([RED, BLUE]));

		await page.goto(`/documents/${id}/viewer`);
		await expect(page.getByText(t.page(1, 2))).toBeVisible();
		await expect.poll(() => centreColour(page)).toBe('red');
		// Not a blank canvas: the picture holds real pixels.
		const dataUrlLength = await page
			.locator('canvas')
			.evaluate((canvas: HTMLCanvasElement) => canvas.toDataURL().length);
		expect(dataUrlLength).toBeGreaterThan(1000);
		await expect(page.getByRole('button', { name: t.previous })).toBeDisabled();
		await axe(page);

		await page.getByRole('button', { name: t.next }).click();
		await expect(page.getByText(t.page(2, 2))).toBeVisible();
		await expect.poll(() => centreColour(page)).toBe('blue');
		await expect(page.getByRole('button', { name: t.next })).toBeDisabled();

		// The keyboard works in the page area too.
		await page
			.getByRole('region', { name: `PDF${locale === 'ja' ? '：' : ': '}` + `色見本 PDF ${locale}` })
			.focus();
		await page.keyboard.press('ArrowLeft');
		await expect(page.getByText(t.page(1, 2))).toBeVisible();
		await expect.poll(() => centreColour(page)).toBe('red');

		const width = () =>
			page.locator('canvas').evaluate((canvas: HTMLCanvasElement) => canvas.width);
		const before = await width();
		await page.getByRole('button', { name: t.zoomIn }).click();
		await expect.poll(width).toBeGreaterThan(before);
		await page.getByRole('button', { name: t.zoomOut }).click();
		await page.getByRole('button', { name: t.zoomOut }).click();
		await expect.poll(width).toBeLessThan(before);
		await expect.poll(() => centreColour(page)).toBe('red');
		await axe(page);

		// The worker came from this origin, and nothing was refused by the CSP nor failed.
		expect(workers.length).toBeGreaterThan(0);
		for (const url of workers) expect(new URL(url).origin).toBe(new URL(baseURL!).origin);
		expect(
			await page.evaluate(() => (window as { cspViolations?: string[] }).cspViolations ?? [])
		).toEqual([]);
		expect(problems).toEqual([]);
	});
}

test('an unknown or unreadable PDF is the same 404 in the viewer and its preview', async ({
	page,
	browser,
	baseURL
}) => {
	await useSession(page.request, DEMO.staff);
	const id = await upload(page, 'en', 'Top secret colours', pdfOf([RED]), true);
	// The author reads it.
	await page.goto(`/documents/${id}/viewer`);
	await expect.poll(() => centreColour(page)).toBe('red');

	const other = await browser.newContext({ baseURL });
	const reader = await other.newPage();
	await useSession(reader.request, DEMO.researcher);
	for (const path of [
		`/documents/${id}/viewer`,
		`/documents/${id}/preview`,
		'/documents/999999/viewer',
		'/documents/999999/preview'
	]) {
		const response = await reader.goto(path);
		expect(response?.status(), path).toBe(404);
	}
	await other.close();
});
