import { randomUUID } from 'node:crypto';
import type { Handle, HandleServerError, ServerInit } from '@sveltejs/kit';
import { sequence } from '@sveltejs/kit/hooks';
import { readSessionCookie } from '$lib/server/auth/cookie';
import * as sessions from '$lib/server/auth/sessions';
import { getConfig } from '$lib/server/config';
import { getDb } from '$lib/server/db';
import { authorize } from '$lib/server/http/authorize';
import { bodyLimit } from '$lib/server/http/body-limit';
import { crossSiteGuard } from '$lib/server/http/cross-site';
import { i18n } from '$lib/server/http/i18n';
import { log, requestContext } from '$lib/server/log';
import { startOrExit } from '$lib/server/startup';

export const init: ServerInit = async () => {
	await startOrExit();
};

const requestId: Handle = ({ event, resolve }) => {
	const id = randomUUID();
	event.locals.requestId = id;
	event.locals.user = null;
	event.locals.session = null;
	try {
		// adapter-node applies ADDRESS_HEADER / XFF_DEPTH here; a raw X-Forwarded-For is never read.
		event.locals.clientIp = event.getClientAddress();
	} catch {
		// ADDRESS_HEADER is configured but the proxy did not send it: refuse rather than guess.
		log.warn({ requestId: id }, 'request without the configured client address header');
		return new Response('Bad Request', {
			status: 400,
			headers: { 'Content-Type': 'text/plain; charset=utf-8', 'X-Request-Id': id }
		});
	}
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

/** Sets locals.user and locals.session for a live, fully authenticated session only. */
const authenticate: Handle = async ({ event, resolve }) => {
	const token = readSessionCookie(event.cookies, event.url);
	if (token) {
		const valid = await sessions.validate(getDb(), token);
		if (valid) {
			event.locals.user = valid.user;
			event.locals.session = valid.session;
		}
	}
	return resolve(event);
};

export const handle = sequence(
	requestId,
	securityHeaders,
	crossSiteGuard,
	bodyLimit(),
	authenticate,
	authorize,
	i18n
);

export const handleError: HandleServerError = ({ error, event, status, message }) => {
	const requestId = event.locals.requestId;
	if (status === 404) return { message: 'Not Found', requestId };
	// The route id, not the path: paths can hold one-time tokens.
	log.error({ err: error, status, route: event.route.id }, 'unhandled error');
	return { message: status >= 500 ? 'Internal Error' : message, requestId };
};
