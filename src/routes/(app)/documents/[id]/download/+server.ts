import { requireReadable } from '$lib/server/vault/guard';
import { serveFile } from '$lib/server/vault/serve-file';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = async (event) => {
	const { document } = await requireReadable(event, event.params.id, 'document.download');
	return serveFile(event, document, 'download');
};
