import type { Handle } from '@sveltejs/kit';
import { getConfig } from '../config';

/**
 * Headers on every response the app makes. The CSP (with per-response nonces) comes from
 * kit.csp in svelte.config.js; SvelteKit adds it to pages.
 */
export const securityHeaders: Handle = async ({ event, resolve }) => {
	const response = await resolve(event);
	const headers = response.headers;
	headers.set('X-Content-Type-Options', 'nosniff');
	headers.set('Referrer-Policy', 'same-origin');
	headers.set('Cross-Origin-Opener-Policy', 'same-origin');
	headers.set('Cross-Origin-Resource-Policy', 'same-origin');
	headers.set('X-Frame-Options', 'DENY');
	headers.set('Permissions-Policy', 'camera=(), microphone=(), geolocation=(), payment=()');
	if (getConfig().mode === 'production') {
		headers.set('Strict-Transport-Security', 'max-age=63072000; includeSubDomains');
	}
	// Pages may carry secrets: nothing the hooks answer is stored by a browser or a proxy.
	if (!headers.has('Cache-Control') || event.locals.user) headers.set('Cache-Control', 'no-store');
	return response;
};
