import { json } from '@sveltejs/kit';
import * as audit from '$lib/server/audit';
import { requireRole } from '$lib/server/auth/guards';
import * as upload from '$lib/server/vault/upload';
import type { RequestHandler } from './$types';

export const POST: RequestHandler = async (event) => {
	const user = await requireRole(event, 'staff', 'liaison');
	if (!upload.sameOrigin(event.request, event.url)) {
		return json({ code: 'origin' }, { status: 403, headers: { Connection: 'close' } });
	}
	const context = audit.contextOf(event);
	try {
		const id = await upload.createFromRequest({
			request: event.request,
			user,
			context,
			sessionId: event.locals.session?.id
		});
		return json({ id, url: `/documents/${id}` }, { status: 201 });
	} catch (error) {
		return upload.errorResponse(error, { context, attempted: 'document.upload', documentId: null });
	}
};
