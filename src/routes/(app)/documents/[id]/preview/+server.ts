import { requireRole } from '$lib/server/auth/guards';
import { serveFile } from '$lib/server/vault/serve-file';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = async (event) => {
	const user = await requireRole(event, 'staff', 'liaison');
	return serveFile(event, user, 'preview', event.params.id);
};
