import { serveFile } from '$lib/server/vault/serve-file';
import type { RequestHandler } from './$types';

// A request another site started is refused before the access check (see serveFile).
export const GET: RequestHandler = (event) => serveFile(event, 'download');
