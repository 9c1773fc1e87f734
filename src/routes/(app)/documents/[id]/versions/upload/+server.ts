import { error, json } from '@sveltejs/kit';
import * as audit from '$lib/server/audit';
import { requireRole } from '$lib/server/auth/guards';
import { FileNotFoundError } from '$lib/server/vault/file-access';
import * as upload from '$lib/server/vault/upload';
import type { RequestHandler } from './$types';

export const POST: RequestHandler = async (event) => {
	const user = await requireRole(event, 'staff', 'liaison');
	if (!upload.sameOrigin(event.request, event.url)) {
		return json({ code: 'origin' }, { status: 403, headers: { Connection: 'close' } });
	}
	try {
		const version = await upload.addVersionFromRequest({
			request: event.request,
			user,
			context: audit.contextOf(event),
			rawDocumentId: event.params.id
		});
		return json({ version, url: `/documents/${event.params.id}` }, { status: 201 });
	} catch (caught) {
		if (caught instanceof FileNotFoundError) error(404, 'Not Found');
		return upload.errorResponse(caught);
	}
};
