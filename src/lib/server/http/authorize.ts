import { redirect, type Handle } from '@sveltejs/kit';

/** Routes anyone may reach; everything else needs a signed-in person. */
export const PUBLIC_ROUTE_IDS: ReadonlySet<string> = new Set([
	'/(auth)/sign-in',
	'/(auth)/enrol/[token]',
	// Signing out without a live session only clears the cookie; see the route.
	'/(auth)/sign-out',
	'/healthz',
	'/readyz',
	'/language'
]);

function wantsPage(event: Parameters<Handle>[0]['event']): boolean {
	const method = event.request.method;
	if (method !== 'GET' && method !== 'HEAD') return false;
	if (event.isDataRequest) return true;
	return (event.request.headers.get('accept') ?? '').includes('text/html');
}

/**
 * The first of the two guards (each load, action and endpoint calls requireUser/requireRole
 * again). A page visit without a session goes to sign-in; anything else gets a bare 401 that
 * says nothing about whether the route exists. The page visit's redirect is answered, not
 * thrown: a thrown one would be made into a response by SvelteKit outside the handles, without
 * the security headers (HSTS included, on what is often a visitor's first answer). A client-side
 * navigation's data request still throws it, for SvelteKit to answer in the form its router reads.
 */
export const authorize: Handle = ({ event, resolve }) => {
	if (event.locals.user || (event.route.id !== null && PUBLIC_ROUTE_IDS.has(event.route.id))) {
		return resolve(event);
	}
	if (wantsPage(event)) {
		const next = event.url.pathname + event.url.search;
		const location = next === '/' ? '/sign-in' : `/sign-in?next=${encodeURIComponent(next)}`;
		if (event.isDataRequest) redirect(303, location);
		return new Response(null, { status: 303, headers: { Location: location } });
	}
	return new Response('Unauthorized', {
		status: 401,
		headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' }
	});
};
