import { error } from '@sveltejs/kit';
import * as audit from '$lib/server/audit';
import { getConfig } from '$lib/server/config';
import { pages, requireOwnDocument } from '$lib/server/vault';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	// Unknown or unreadable: the audited 404; readable but someone else's: the audited 403.
	const { document } = await requireOwnDocument(event, event.params.id, 'document.version_added');
	if (document.kind !== 'file') error(403, 'Forbidden');
	await pages.recordView(audit.contextOf(event), document, 'version_upload', null);
	return {
		document: { id: document.id, title: document.title },
		maxBytes: getConfig().uploadMaxBytes
	};
};
