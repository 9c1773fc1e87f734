import { error } from '@sveltejs/kit';
import { getConfig } from '$lib/server/config';
import { requireReadable } from '$lib/server/vault/guard';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const { user, document } = await requireReadable(
		event,
		event.params.id,
		'document.version_added'
	);
	// The document exists for this reader; only its author may add a version.
	if (document.authorId !== user.id || document.kind !== 'file') error(403, 'Forbidden');
	return {
		document: { id: document.id, title: document.title },
		maxBytes: getConfig().uploadMaxBytes
	};
};
