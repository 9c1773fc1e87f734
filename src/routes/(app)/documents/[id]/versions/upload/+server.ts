import { error, json } from '@sveltejs/kit';
import * as audit from '$lib/server/audit';
import { FileNotFoundError } from '$lib/server/vault/file-access';
import { requireReadable } from '$lib/server/vault/guard';
import * as upload from '$lib/server/vault/upload';
import type { RequestHandler } from './$types';

export const POST: RequestHandler = async (event) => {
	// Unknown or unreadable: the same audited 404 as every document route, before a byte is read.
	const { user, document } = await requireReadable(
		event,
		event.params.id,
		'document.version_added'
	);
	if (!upload.sameOrigin(event.request, event.url)) {
		return json({ code: 'origin' }, { status: 403, headers: { Connection: 'close' } });
	}
	const context = audit.contextOf(event);
	try {
		const version = await upload.addVersionFromRequest({
			request: event.request,
			user,
			context,
			sessionId: event.locals.session?.id,
			document
		});
		return json({ version, url: `/documents/${document.id}` }, { status: 201 });
	} catch (caught) {
		if (caught instanceof FileNotFoundError) error(404, 'Not Found');
		return upload.errorResponse(caught, {
			context,
			attempted: 'document.version_added',
			documentId: document.id
		});
	}
};
