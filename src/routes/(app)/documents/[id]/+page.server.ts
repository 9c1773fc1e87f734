import { error, fail, redirect, type RequestEvent } from '@sveltejs/kit';
import { pages, requireReadable, vaultContext, write } from '$lib/server/vault';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const found = await requireReadable(event, event.params.id, 'document.view');
	return pages.documentPage(vaultContext(event, found), found.document);
};

async function statusChange(
	event: RequestEvent<{ id: string }>,
	action: 'document.publish' | 'document.archive'
) {
	const found = await requireReadable(event, event.params.id, action);
	const ctx = vaultContext(event, found);
	const run = action === 'document.publish' ? write.publish : write.archive;
	const outcome = await pages.attempt(ctx, action, found.document.id, () =>
		run(ctx.reader, ctx.audit, found.document.id)
	);
	if (!outcome.ok) {
		if (outcome.status === 404) error(404, 'Not Found');
		return fail(outcome.status, { action, reason: outcome.reason });
	}
	redirect(303, `/documents/${found.document.id}`);
}

export const actions: Actions = {
	publish: (event) => statusChange(event, 'document.publish'),
	archive: (event) => statusChange(event, 'document.archive')
};
