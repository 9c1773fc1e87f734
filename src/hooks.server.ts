import { randomUUID } from 'node:crypto';
import type { Handle, HandleServerError, ServerInit } from '@sveltejs/kit';
import { sequence } from '@sveltejs/kit/hooks';
import { paraglideMiddleware } from '$lib/paraglide/server';
import { getConfig } from '$lib/server/config';
import { log, requestContext } from '$lib/server/log';
import { startOrExit } from '$lib/server/startup';

export const init: ServerInit = async () => {
	await startOrExit();
};

const requestId: Handle = ({ event, resolve }) => {
	const id = randomUUID();
	event.locals.requestId = id;
	// adapter-node applies ADDRESS_HEADER / XFF_DEPTH here; a raw X-Forwarded-For is never read.
	event.locals.clientIp = event.getClientAddress();
	event.locals.user = null;
	event.locals.session = null;
	return requestContext.run({ requestId: id }, async () => {
		const started = performance.now();
		const response = await resolve(event);
		response.headers.set('X-Request-Id', id);
		// The route id, not the path: paths can hold one-time tokens.
		log.info(
			{
				method: event.request.method,
				route: event.route.id,
				status: response.status,
				ms: Math.round(performance.now() - started)
			},
			'request'
		);
		return response;
	});
};

const securityHeaders: Handle = async ({ event, resolve }) => {
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

const i18n: Handle = ({ event, resolve }) =>
	paraglideMiddleware(event.request, ({ request, locale }) => {
		event.request = request;
		return resolve(event, {
			transformPageChunk: ({ html }) => html.replace('%paraglide.lang%', locale)
		});
	});

export const handle = sequence(requestId, securityHeaders, i18n);

export const handleError: HandleServerError = ({ error, event, status, message }) => {
	const requestId = event.locals.requestId;
	if (status === 404) return { message: 'Not Found', requestId };
	log.error({ err: error, status, path: event.url.pathname }, 'unhandled error');
	return { message: status >= 500 ? 'Internal Error' : message, requestId };
};
