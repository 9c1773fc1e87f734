import type { Handle } from '@sveltejs/kit';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Browsers mark requests started by another site. SvelteKit's origin check covers form posts;
 * this refuses every other state-changing request from a foreign site too (fetch with JSON,
 * uploads). Requests without the header (non-browser clients) pass on to the other checks.
 */
export const crossSiteGuard: Handle = ({ event, resolve }) => {
	if (
		!SAFE_METHODS.has(event.request.method) &&
		event.request.headers.get('sec-fetch-site') === 'cross-site'
	) {
		return new Response('Forbidden', {
			status: 403,
			headers: { 'Content-Type': 'text/plain; charset=utf-8' }
		});
	}
	return resolve(event);
};
