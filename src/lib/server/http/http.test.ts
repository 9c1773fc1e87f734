import type { Handle, RequestEvent } from '@sveltejs/kit';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { authorize } from './authorize';
import { bodyLimit, UPLOAD_ROUTE_IDS } from './body-limit';
import { crossSiteGuard } from './cross-site';
import { getLocale, getUrlOrigin } from '$lib/paraglide/runtime';
import { POST as switchLanguage } from '../../../routes/language/+server';
import { safePath } from '../auth/next';
import { i18n } from './i18n';
import { readJson } from './json';
import { requestId } from './request-id';
import { securityHeaders } from './security-headers';
import { loadConfig, setConfig } from '../config';

type Resolve = Parameters<Handle>[0]['resolve'];

function eventFor(request: Request, routeId: string | null, extra: Partial<RequestEvent> = {}) {
	return {
		request,
		url: new URL(request.url),
		route: { id: routeId },
		locals: { user: null, session: null, requestId: 'r', clientIp: '127.0.0.1' },
		isDataRequest: false,
		...extra
	} as unknown as RequestEvent;
}

/** A body of `total` bytes in 64 KiB chunks, produced only as it is read; counts what was pulled. */
function streamOf(total: number) {
	const state = { pulled: 0 };
	const chunk = new Uint8Array(64 * 1024).fill(97);
	const stream = new ReadableStream<Uint8Array>({
		pull(controller) {
			if (state.pulled >= total) return controller.close();
			const size = Math.min(chunk.byteLength, total - state.pulled);
			state.pulled += size;
			controller.enqueue(chunk.subarray(0, size));
		}
	});
	return { stream, state };
}

function post(url: string, body: BodyInit | null, headers: Record<string, string> = {}) {
	return new Request(url, { method: 'POST', body, headers, duplex: 'half' } as RequestInit);
}

const readAll: Resolve = async (event) => {
	const bytes = await event.request.arrayBuffer();
	return new Response(String(bytes.byteLength));
};

describe('bodyLimit', () => {
	const limited = bodyLimit(() => 1024 * 1024);

	it('refuses a declared Content-Length over the limit without reading the body', async () => {
		const { stream, state } = streamOf(2 * 1024 * 1024);
		const request = post('http://x/sign-in', stream, { 'content-length': String(2 * 1024 * 1024) });
		const response = await limited({
			event: eventFor(request, '/(auth)/sign-in'),
			resolve: readAll
		});
		expect(response.status).toBe(413);
		expect(state.pulled).toBeLessThanOrEqual(64 * 1024 * 2);
	});

	it('counts a streamed body and stops reading just past the limit', async () => {
		const { stream, state } = streamOf(50 * 1024 * 1024);
		const request = post('http://x/sign-in', stream);
		const response = await limited({
			event: eventFor(request, '/(auth)/sign-in'),
			resolve: readAll
		});
		expect(response.status).toBe(413);
		// Not the 50 MiB: reading stopped within a few chunks of the limit.
		expect(state.pulled).toBeLessThan(2 * 1024 * 1024);
	});

	it('answers 413 even when the route turns the read failure into its own answer', async () => {
		const { stream } = streamOf(3 * 1024 * 1024);
		const request = post('http://x/sign-in', stream);
		const swallow: Resolve = async (event) => {
			try {
				await event.request.formData();
			} catch {
				return new Response('bad form', { status: 400 });
			}
			return new Response('ok');
		};
		const response = await limited({
			event: eventFor(request, '/(auth)/sign-in'),
			resolve: swallow
		});
		expect(response.status).toBe(413);
	});

	it('passes bodies within the limit whole', async () => {
		const { stream } = streamOf(1024 * 1024);
		const request = post('http://x/sign-in', stream);
		const response = await limited({
			event: eventFor(request, '/(auth)/sign-in'),
			resolve: readAll
		});
		expect(response.status).toBe(200);
		expect(await response.text()).toBe(String(1024 * 1024));
	});

	it('leaves the upload routes to their own limit, untouched', async () => {
		expect([...UPLOAD_ROUTE_IDS].sort()).toEqual([
			'/(app)/documents/[id]/versions/upload',
			'/(app)/documents/upload'
		]);
		for (const routeId of UPLOAD_ROUTE_IDS) {
			const { stream } = streamOf(3 * 1024 * 1024);
			const request = post('http://x/documents/upload', stream);
			let seen: Request | undefined;
			const response = await limited({
				event: eventFor(request, routeId),
				resolve: async (event) => {
					seen = event.request;
					return readAll(event);
				}
			});
			expect(seen).toBe(request);
			expect(await response.text()).toBe(String(3 * 1024 * 1024));
		}
	});
});

describe('i18n', () => {
	it('keeps the original request and its body stream on a POST (no clone, no tee)', async () => {
		const { stream, state } = streamOf(4 * 1024 * 1024);
		const request = post('http://x/documents/upload', stream, { cookie: 'locale=ja' });
		const body = request.body;
		let locale = '';
		const response = await i18n({
			event: eventFor(request, '/(app)/documents/upload'),
			resolve: async (event, opts) => {
				expect(event.request).toBe(request);
				expect(event.request.body).toBe(body);
				locale = opts!.transformPageChunk!({ html: '%paraglide.lang%', done: true }) as string;
				// Nothing was read ahead of the route.
				expect(state.pulled).toBeLessThanOrEqual(64 * 1024 * 2);
				return readAll(event);
			}
		});
		expect(locale).toBe('ja');
		expect(await response.text()).toBe(String(4 * 1024 * 1024));
	});

	it('takes the cookie, then Accept-Language, then English, and scopes it to the request', async () => {
		const cases: [Record<string, string>, string][] = [
			[{ cookie: 'session=x; locale=ja' }, 'ja'],
			[{ cookie: 'locale=en', 'accept-language': 'ja' }, 'en'],
			[{ cookie: 'locale=fr', 'accept-language': 'ja-JP,ja;q=0.9,en;q=0.8' }, 'ja'],
			[{ 'accept-language': 'de-DE,fr;q=0.5' }, 'en'],
			[{}, 'en']
		];
		// Concurrent requests each see their own language, across awaits.
		const seen = await Promise.all(
			cases.map(async ([headers]) => {
				const request = new Request('https://intranet.example/documents', { headers });
				let inside = '';
				let html = '';
				let origin = '';
				await i18n({
					event: eventFor(request, '/(app)/documents'),
					resolve: async (_event, opts) => {
						await new Promise((resolve) => setTimeout(resolve, 5));
						inside = getLocale();
						origin = getUrlOrigin();
						html = opts!.transformPageChunk!({
							html: '<html lang="%paraglide.lang%">',
							done: true
						}) as string;
						return new Response('ok');
					}
				});
				return { inside, html, origin };
			})
		);
		expect(seen).toEqual(
			cases.map(([, locale]) => ({
				inside: locale,
				html: `<html lang="${locale}">`,
				origin: 'https://intranet.example'
			}))
		);
	});
});

describe('crossSiteGuard', () => {
	const ok: Resolve = async () => new Response('ok');
	it('refuses a POST another site started and lets same-origin and GET through', async () => {
		const cross = post('http://x/sign-out', null, { 'sec-fetch-site': 'cross-site' });
		expect((await crossSiteGuard({ event: eventFor(cross, null), resolve: ok })).status).toBe(403);
		// A sibling subdomain is not this intranet either, with or without a form's content type.
		for (const headers of [
			{ 'sec-fetch-site': 'same-site' } as Record<string, string>,
			{ 'sec-fetch-site': 'same-site', 'content-type': 'text/plain' }
		]) {
			const sibling = post('http://x/sign-out', null, headers);
			expect((await crossSiteGuard({ event: eventFor(sibling, null), resolve: ok })).status).toBe(
				403
			);
		}
		const same = post('http://x/sign-out', null, { 'sec-fetch-site': 'same-origin' });
		expect((await crossSiteGuard({ event: eventFor(same, null), resolve: ok })).status).toBe(200);
		const get = new Request('http://x/', { headers: { 'sec-fetch-site': 'cross-site' } });
		expect((await crossSiteGuard({ event: eventFor(get, null), resolve: ok })).status).toBe(200);
	});
});

describe('authorize', () => {
	const ok: Resolve = async () => new Response('ok');
	it('lets the public routes through and nothing else without a user', async () => {
		for (const id of [
			'/(auth)/sign-in',
			'/(auth)/enrol/[token]',
			'/healthz',
			'/readyz',
			'/language'
		]) {
			const request = new Request('http://x/any');
			expect((await authorize({ event: eventFor(request, id), resolve: ok })).status).toBe(200);
		}
		const api = post('http://x/documents/1', null, { accept: 'application/json' });
		const denied = await authorize({ event: eventFor(api, '/(app)/documents/[id]'), resolve: ok });
		expect(denied.status).toBe(401);
		// Same answer for a route that does not exist: nothing is revealed.
		const unknown = post('http://x/nothing', null);
		expect((await authorize({ event: eventFor(unknown, null), resolve: ok })).status).toBe(401);
	});

	it('sends a page visit to sign-in with the way back, with the security headers', async () => {
		setConfig(loadConfig({ INTRANET_MODE: 'demo', DATA_DIR: 'unused' }));
		const page = new Request('http://x/documents?q=orbit', { headers: { accept: 'text/html' } });
		// As hooks.server.ts runs them: the security headers around the guard.
		const answer = await securityHeaders({
			event: eventFor(page, '/(app)/documents'),
			resolve: (inner) => authorize({ event: inner, resolve: ok })
		});
		expect(answer.status).toBe(303);
		expect(answer.headers.get('location')).toBe('/sign-in?next=%2Fdocuments%3Fq%3Dorbit');
		expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
		expect(answer.headers.get('cache-control')).toBe('no-store');
		// A client-side navigation's data request: the redirect in the form the router reads.
		const data = new Request('http://x/documents/__data.json', { headers: { accept: '*/*' } });
		const navigation = eventFor(data, '/(app)/documents', { isDataRequest: true });
		await expect(
			Promise.resolve().then(() => authorize({ event: navigation, resolve: ok }))
		).rejects.toMatchObject({ status: 303, location: '/sign-in?next=%2Fdocuments%2F__data.json' });
	});
});

describe('readJson', () => {
	const schema = z.object({ name: z.string() });
	it('accepts application/json only, then validates', async () => {
		const good = post('http://x/api', JSON.stringify({ name: 'a' }), {
			'content-type': 'application/json; charset=utf-8'
		});
		expect(await readJson(good, schema)).toEqual({ name: 'a' });
		for (const [type, body, status] of [
			['text/plain', '{"name":"a"}', 415],
			['application/x-www-form-urlencoded', 'name=a', 415],
			['application/json', '{"name":', 400],
			['application/json', '{"name":1}', 400]
		] as const) {
			const request = post('http://x/api', body, { 'content-type': type });
			await expect(readJson(request, schema)).rejects.toMatchObject({ status });
		}
	});
});

describe('requestId', () => {
	it('answers 400, not a stack trace, when the trusted proxy header is missing', async () => {
		const request = new Request('http://x/');
		const event = eventFor(request, '/', {
			getClientAddress: () => {
				throw new Error('Address header was specified with ADDRESS_HEADER=x-real-ip but is absent');
			}
		});
		let resolved = false;
		const response = await requestId({
			event,
			resolve: async () => {
				resolved = true;
				return new Response('ok');
			}
		});
		expect(response.status).toBe(400);
		expect(await response.text()).toBe('Bad Request');
		expect(resolved).toBe(false);
	});

	it('takes the client IP from getClientAddress only', async () => {
		const request = new Request('http://x/', { headers: { 'x-forwarded-for': '203.0.113.66' } });
		const event = eventFor(request, '/', { getClientAddress: () => '192.0.2.1' });
		const response = await requestId({ event, resolve: async () => new Response('ok') });
		expect(event.locals.clientIp).toBe('192.0.2.1');
		expect(response.headers.get('x-request-id')).toBe(event.locals.requestId);
	});
});

describe('the language switch', () => {
	async function locationAfter(redirectTo: string) {
		const body = new URLSearchParams({ locale: 'ja', redirectTo });
		const set: string[] = [];
		const event = {
			request: new Request('http://x/language', { method: 'POST', body }),
			url: new URL('http://x/language'),
			cookies: { set: (name: string, value: string) => set.push(`${name}=${value}`) }
		} as unknown as Parameters<typeof switchLanguage>[0];
		try {
			await switchLanguage(event);
		} catch (thrown) {
			const { status, location } = thrown as { status: number; location: string };
			expect(status).toBe(303);
			expect(set).toEqual(['locale=ja']);
			return location;
		}
		throw new Error('no redirect');
	}

	it('returns to the page it came from, the sign-in page included', async () => {
		expect(await locationAfter('/documents?q=%E5%AE%87&level=2')).toBe(
			'/documents?q=%E5%AE%87&level=2'
		);
		expect(await locationAfter('/sign-in?next=%2Fdocuments')).toBe('/sign-in?next=%2Fdocuments');
	});

	it('percent-encodes a path that is not ASCII (a Location header cannot hold it)', async () => {
		expect(await locationAfter('/文書')).toBe('/%E6%96%87%E6%9B%B8');
		expect(await locationAfter('/documents?q=宇 宙')).toBe('/documents?q=%E5%AE%87%20%E5%AE%99');
		// A form body carries a lone surrogate as U+FFFD; called directly, it cannot be encoded.
		expect(safePath('/\ud800')).toBe('/');
	});

	it('sends a body that is not a form home, and marks the cookie Secure only over https', async () => {
		const set: { name: string; options: { secure?: boolean } }[] = [];
		const attempt = async (url: string, init: RequestInit) => {
			const event = {
				request: new Request(url, { method: 'POST', ...init }),
				url: new URL(url),
				cookies: {
					set: (name: string, _value: string, options: { secure?: boolean }) =>
						set.push({ name, options })
				}
			} as unknown as Parameters<typeof switchLanguage>[0];
			try {
				await switchLanguage(event);
			} catch (thrown) {
				return (thrown as { location: string }).location;
			}
			throw new Error('no redirect');
		};
		const json = {
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ locale: 'ja' })
		};
		expect(await attempt('http://intranet.example/language', json)).toBe('/');
		expect(set).toEqual([]);
		const form = { body: new URLSearchParams({ locale: 'ja', redirectTo: '/' }) };
		await attempt('http://intranet.example/language', form);
		await attempt('https://intranet.example/language', form);
		expect(set.map((s) => s.options.secure)).toEqual([false, true]);
	});

	it.each([
		'https://evil.example/',
		'//evil.example/',
		'/\\evil.example/',
		'/\tevil',
		'/\t/evil.example/',
		'/\n/evil.example/',
		'/\r\nSet-Cookie: x=1',
		'/\u007f/evil.example',
		'javascript:alert(1)',
		`/${'a'.repeat(2001)}`
	])('sends %j home instead of off the site', async (target) => {
		expect(await locationAfter(target)).toBe('/');
	});
});
