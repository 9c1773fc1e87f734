import { error, redirect } from '@sveltejs/kit';
import * as audit from '$lib/server/audit';
import { getConfig } from '$lib/server/config';
import { pages, requireOwnDocument } from '$lib/server/vault';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	// Unknown or unreadable: the audited 404; readable but someone else's: the audited 403.
	const { document } = await requireOwnDocument(event, event.params.id, 'document.version_added');
	if (document.kind !== 'file') error(403, 'Forbidden');
	// An archived file takes no new version (the upload refuses it): back to its page, as the
	// memo editor does.
	if (document.status === 'archived') redirect(303, `/documents/${document.id}`);
	await pages.recordView(audit.contextOf(event), document, 'version_upload', null);
	return {
		document: { id: document.id, title: document.title },
		maxBytes: getConfig().uploadMaxBytes
	};
};
