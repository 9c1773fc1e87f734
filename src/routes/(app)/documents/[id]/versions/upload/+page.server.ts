import { error } from '@sveltejs/kit';
import { getConfig } from '$lib/server/config';
import { requireOwnDocument } from '$lib/server/vault/guard';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	// Unknown or unreadable: the audited 404; readable but someone else's: the audited 403.
	const { document } = await requireOwnDocument(event, event.params.id, 'document.version_added');
	if (document.kind !== 'file') error(403, 'Forbidden');
	return {
		document: { id: document.id, title: document.title },
		maxBytes: getConfig().uploadMaxBytes
	};
};
