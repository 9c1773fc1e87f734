import { randomUUID } from 'node:crypto';
import { isHttpError, isRedirect, type RequestEvent } from '@sveltejs/kit';
import type { SessionUser } from '../../src/lib/server/auth/types';
import { paraglideMiddleware } from '../../src/lib/paraglide/server';

/**
 * A RequestEvent as SvelteKit hands it to loads, actions and endpoints, with `locals.user` set
 * as the authenticate handle would. Routes are called exactly as the server calls them, inside
 * the language middleware.
 */
export interface EventSpec {
	user: SessionUser | null;
	method?: 'GET' | 'POST';
	path: string;
	params?: Record<string, string>;
	form?: Record<string, string | string[]>;
	json?: unknown;
	locale?: 'en' | 'ja';
	routeId?: string;
	/** The session the request came with (its id), as `authenticate` would set it. */
	sessionId?: string;
	/**
	 * Run when the route starts reading the form's body, which arrives once it has settled: what
	 * it does (revoke a grant, end the session) happens after the guard and before the body.
	 */
	bodyAfter?: () => Promise<unknown>;
}

export function requestEvent(spec: EventSpec): RequestEvent {
	const url = new URL(spec.path, 'http://127.0.0.1:3000');
	const headers = new Headers({
		'user-agent': 'vitest route caller',
		cookie: `locale=${spec.locale ?? 'en'}`,
		origin: url.origin
	});
	let body: BodyInit | undefined;
	if (spec.form) {
		const form = new URLSearchParams();
		for (const [key, value] of Object.entries(spec.form)) {
			for (const v of Array.isArray(value) ? value : [value]) form.append(key, v);
		}
		body = form;
		headers.set('content-type', 'application/x-www-form-urlencoded');
		if (spec.bodyAfter) {
			const bytes = new TextEncoder().encode(form.toString());
			const before = spec.bodyAfter;
			// No queue (highWaterMark 0): a stream pulls once as soon as it is made to fill its
			// queue, which ran `before` ahead of the guard; now it runs when the route reads.
			body = new ReadableStream<Uint8Array>(
				{
					async pull(controller) {
						await before();
						controller.enqueue(bytes);
						controller.close();
					}
				},
				{ highWaterMark: 0 }
			);
		}
	} else if (spec.json !== undefined) {
		body = JSON.stringify(spec.json);
		headers.set('content-type', 'application/json');
	}
	const request = new Request(url, {
		method: spec.method ?? (body ? 'POST' : 'GET'),
		headers,
		body,
		...(body instanceof ReadableStream ? { duplex: 'half' } : {})
	} as RequestInit);
	const event = {
		request,
		url,
		params: spec.params ?? {},
		route: { id: spec.routeId ?? null },
		locals: {
			requestId: randomUUID(),
			clientIp: '203.0.113.7',
			user: spec.user,
			session: spec.sessionId ? { id: spec.sessionId } : null
		},
		cookies: {
			get: () => undefined,
			getAll: () => [],
			set: () => {},
			delete: () => {},
			serialize: () => ''
		},
		fetch,
		getClientAddress: () => '203.0.113.7',
		platform: undefined,
		setHeaders: () => {},
		isDataRequest: false,
		isSubRequest: false,
		isRemoteRequest: false,
		tracing: { enabled: false, root: undefined, current: undefined }
	};
	return event as unknown as RequestEvent;
}

/** Runs a route function in the language context the i18n handle gives a real request. */
export async function call<T>(event: RequestEvent, run: (event: RequestEvent) => T | Promise<T>) {
	let result: T | undefined;
	await paraglideMiddleware(event.request, async () => {
		result = await run(event);
		return new Response(null);
	});
	return result as T;
}

export type Outcome<T> =
	| { kind: 'ok'; value: T }
	| { kind: 'error'; status: number; body: unknown }
	| { kind: 'redirect'; status: number; location: string };

/** What a route answered: its value, an `error()` (status and body) or a `redirect()`. */
export async function outcome<T>(
	event: RequestEvent,
	run: (event: RequestEvent) => T | Promise<T>
): Promise<Outcome<Awaited<T>>> {
	try {
		return { kind: 'ok', value: (await call(event, run)) as Awaited<T> };
	} catch (thrown) {
		if (isHttpError(thrown)) return { kind: 'error', status: thrown.status, body: thrown.body };
		if (isRedirect(thrown)) {
			return { kind: 'redirect', status: thrown.status, location: thrown.location };
		}
		throw thrown;
	}
}
