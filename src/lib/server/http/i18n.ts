import type { Handle } from '@sveltejs/kit';
import { paraglideMiddleware } from '$lib/paraglide/server';

const BODYLESS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Only the locale is taken from Paraglide. Its middleware clones the request it is given
 * (request.clone() tees the body, and an unread tee branch keeps a copy of every byte), so an
 * upload would be buffered in memory. It therefore sees a body-less copy of requests with a
 * body, and event.request stays the original stream.
 */
export const i18n: Handle = ({ event, resolve }) => {
	const original = event.request;
	const probe = BODYLESS.has(original.method)
		? original
		: new Request(original.url, { method: 'GET', headers: original.headers });
	return paraglideMiddleware(probe, ({ locale }) =>
		resolve(event, {
			transformPageChunk: ({ html }) => html.replace('%paraglide.lang%', locale)
		})
	);
};
