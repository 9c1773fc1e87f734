import { json } from '@sveltejs/kit';
import { z } from 'zod';
import { renderMarkdown, requireVaultUser } from '$lib/server/vault';
import type { RequestHandler } from './$types';

const previewBody = z.object({ markdown: z.string().max(200_000) });

/** The editor's preview: the same server-side rendering and sanitising as the memo page. */
export const POST: RequestHandler = async (event) => {
	await requireVaultUser(event);
	const parsed = previewBody.safeParse(await event.request.json().catch(() => null));
	if (!parsed.success) return json({ message: 'Bad Request' }, { status: 400 });
	return json(
		{ html: renderMarkdown(parsed.data.markdown) },
		{ headers: { 'Cache-Control': 'no-store' } }
	);
};
