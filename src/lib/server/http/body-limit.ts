import type { Handle } from '@sveltejs/kit';
import { getConfig } from '../config';

/**
 * Routes that stream large bodies and enforce their own size limit (and origin check).
 * adapter-node's BODY_SIZE_LIMIT is Infinity (scripts/start.js), so every other route is
 * capped here.
 */
export const UPLOAD_ROUTE_IDS: ReadonlySet<string> = new Set([
	'/(app)/documents/upload',
	'/(app)/documents/[id]/versions/upload'
]);

export class BodyTooLargeError extends Error {
	constructor(limit: number) {
		super(`Request body exceeds ${limit} bytes`);
		this.name = 'BodyTooLargeError';
	}
}

function tooLarge(): Response {
	return new Response('Payload Too Large', {
		status: 413,
		headers: { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' }
	});
}

/** A stream that passes bytes through and errors as soon as more than `limit` have passed. */
export function limitStream(
	body: ReadableStream<Uint8Array>,
	limit: number,
	onExceeded: () => void = () => {}
): ReadableStream<Uint8Array> {
	let seen = 0;
	return body.pipeThrough(
		new TransformStream<Uint8Array, Uint8Array>({
			transform(chunk, controller) {
				seen += chunk.byteLength;
				if (seen > limit) {
					onExceeded();
					controller.error(new BodyTooLargeError(limit));
				} else controller.enqueue(chunk);
			}
		}),
		// Cancelling adapter-node's stream destroys the socket before the 413 can be written;
		// the unread rest is left to Node, which closes the connection after the answer.
		{ preventCancel: true }
	);
}

/**
 * Refuses bodies over the limit by their Content-Length, and counts chunked bodies as they are
 * read, so a client cannot send an unbounded body by leaving the length out.
 */
export function bodyLimit(limit: () => number = () => getConfig().requestBodyMaxBytes): Handle {
	return async ({ event, resolve }) => {
		const request = event.request;
		if (request.body === null || (event.route.id && UPLOAD_ROUTE_IDS.has(event.route.id))) {
			return resolve(event);
		}
		const max = limit();
		const declared = request.headers.get('content-length');
		if (declared !== null && (!/^\d+$/.test(declared) || Number(declared) > max)) {
			return tooLarge();
		}
		// Whoever reads the body (an action, an endpoint, a helper) sees it fail; whatever they
		// make of that failure, the answer is 413.
		let exceeded = false;
		event.request = new Request(request.url, {
			method: request.method,
			headers: request.headers,
			body: limitStream(request.body, max, () => (exceeded = true)),
			signal: request.signal,
			// Node's fetch requires this for a stream body.
			duplex: 'half'
		} as RequestInit);
		try {
			const response = await resolve(event);
			if (exceeded) {
				await response.body?.cancel();
				return tooLarge();
			}
			return response;
		} catch (error) {
			if (exceeded) return tooLarge();
			throw error;
		}
	};
}
