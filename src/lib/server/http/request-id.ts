import { randomUUID } from 'node:crypto';
import type { Handle } from '@sveltejs/kit';
import { log, requestContext } from '../log';

/**
 * Gives each request an id (logs, audit, the X-Request-Id header) and its client IP. The IP
 * comes only from event.getClientAddress(): adapter-node applies ADDRESS_HEADER / XFF_DEPTH
 * there, so a raw X-Forwarded-For from a client is never read.
 */
export const requestId: Handle = ({ event, resolve }) => {
	const id = randomUUID();
	event.locals.requestId = id;
	event.locals.user = null;
	event.locals.session = null;
	try {
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
