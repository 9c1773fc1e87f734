import type { Browser } from '@playwright/test';
import { DEMO, useSession } from './auth';

/**
 * The id of a demo document, found by its exact title the way a reader finds it: a search by
 * someone who may read it (the TOP SECRET staff member unless told otherwise), in a context of
 * its own. Ids say nothing of a document (they are random), so specs never assume one.
 */
export async function documentIdByTitle(
	browser: Browser,
	title: string,
	reader: string = DEMO.staff
): Promise<number> {
	const context = await browser.newContext({
		baseURL: `http://127.0.0.1:${process.env.E2E_PORT}`
	});
	try {
		await useSession(context.request, reader);
		const page = await context.newPage();
		await page.goto(`/documents?q=${encodeURIComponent(title)}`);
		const href = await page.getByRole('link', { name: title, exact: true }).getAttribute('href');
		const id = Number(/^\/documents\/(\d+)$/.exec(href ?? '')?.[1]);
		if (!Number.isSafeInteger(id) || id <= 0) throw new Error(`No document titled ${title}`);
		return id;
	} finally {
		await context.close();
	}
}
