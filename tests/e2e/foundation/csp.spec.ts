import { expect, test, type Browser, type Page } from '@playwright/test';
import { DEMO, useSession } from '../helpers/auth';

/*
 * Every page, as the people who see it, under the content security policy the server sends
 * (the same in demo and production: scripts by nonce, stylesheets from this origin, inline style
 * attributes only): no page is blocked anything and none reports a script error, so that the
 * policy can stay this strict.
 */
const base = () => `http://127.0.0.1:${process.env.E2E_PORT}`;

interface Watched {
	page: Page;
	problems: string[];
	visit(path: string): Promise<void>;
	links(pattern: RegExp): Promise<string[]>;
	close(): Promise<void>;
}

async function watched(browser: Browser, email?: string): Promise<Watched> {
	const context = await browser.newContext({ baseURL: base() });
	if (email) await useSession(context.request, email);
	const page = await context.newPage();
	const problems: string[] = [];
	page.on('pageerror', (error) => problems.push(`${page.url()}: page error ${error.message}`));
	page.on('console', (message) => {
		if (message.type() === 'error') problems.push(`${page.url()}: ${message.text()}`);
	});
	await page.addInitScript(() => {
		document.addEventListener('securitypolicyviolation', (event) => {
			const list = ((window as unknown as { violations?: string[] }).violations ??= []);
			list.push(`${event.violatedDirective} ${event.blockedURI || '(inline)'}`);
		});
	});
	return {
		page,
		problems,
		async visit(path) {
			const answer = await page.goto(path);
			expect(answer?.status(), path).toBe(200);
			await page.waitForLoadState('networkidle');
			const found = await page.evaluate(
				() => (window as unknown as { violations?: string[] }).violations ?? []
			);
			problems.push(...found.map((v) => `${path}: ${v}`));
		},
		async links(pattern) {
			const hrefs = await page
				.locator('a[href]')
				.evaluateAll((anchors) => anchors.map((a) => a.getAttribute('href') ?? ''));
			return [...new Set(hrefs.filter((href) => pattern.test(href)))];
		},
		close: () => context.close()
	};
}

test('no page breaks the content security policy, for anyone', async ({ browser }) => {
	test.setTimeout(180_000);
	const visited: string[] = [];
	const all: string[] = [];
	const run = async (email: string | undefined, paths: string[], follow: RegExp[] = []) => {
		const w = await watched(browser, email);
		try {
			for (const path of paths) {
				await w.visit(path);
				visited.push(path);
				for (const pattern of follow) {
					for (const link of (await w.links(pattern)).slice(0, 2)) {
						if (visited.includes(link)) continue;
						await w.visit(link);
						visited.push(link);
						// The pages a document page leads to: viewer, edit, reclassify, new version.
						for (const next of await w.links(/^\/documents\/\d+\/(viewer|edit|reclassify)$/)) {
							if (visited.includes(next)) continue;
							await w.visit(next);
							visited.push(next);
						}
						await w.visit(path);
					}
				}
			}
		} finally {
			all.push(...w.problems);
			await w.close();
		}
	};

	await run(undefined, ['/sign-in']);
	await run(
		DEMO.staff,
		[
			'/',
			'/documents?mine=1&kind=memo',
			'/documents?kind=file',
			'/documents/new',
			'/documents/upload',
			'/account'
		],
		[/^\/documents\/\d+$/]
	);
	await run(
		DEMO.administrator,
		[
			'/',
			'/admin',
			'/admin/accounts',
			'/admin/accounts/new',
			'/admin/approvals',
			'/admin/reference',
			'/admin/review',
			'/admin/settings'
		],
		[/^\/admin\/accounts\/\d+$/]
	);
	await run(
		DEMO.auditor,
		['/', '/audit', '/audit/integrity', '/audit/review'],
		[/^\/audit\/events\/\d+$/, /^\/audit\/people\/\d+$/, /^\/audit\/documents\/\d+$/]
	);

	// The walk reached the pages it is meant to check (the PDF viewer, with a PDF of its own, is
	// watched the same way in files/pdf-viewer.spec.ts).
	for (const expected of [
		/^\/documents\/\d+$/,
		/^\/documents\/\d+\/edit$/,
		/^\/admin\/accounts\/\d+$/,
		/^\/audit\/events\/\d+$/
	]) {
		expect(
			visited.some((path) => expected.test(path)),
			String(expected)
		).toBe(true);
	}
	expect(all).toEqual([]);
});
