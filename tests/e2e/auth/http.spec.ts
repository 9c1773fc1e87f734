import { request as httpRequest } from 'node:http';
import { expect, test } from '@playwright/test';

const port = () => Number(process.env.E2E_PORT);
const base = () => `http://127.0.0.1:${port()}`;

/**
 * Sends a chunked POST of `totalBytes` without Content-Length, one 64 KiB chunk at a time, and
 * resolves with the status and how much had been written when the answer came. The server
 * answers 413 and closes the connection; a write racing that close may see the socket end
 * first (EPIPE/ECONNRESET), which is reported as status 0: either way the server stopped
 * reading.
 */
function streamPost(path: string, totalBytes: number): Promise<{ status: number; sent: number }> {
	return new Promise((resolve, reject) => {
		let sent = 0;
		let answered = false;
		const req = httpRequest(
			{
				host: '127.0.0.1',
				port: port(),
				path,
				method: 'POST',
				headers: {
					'content-type': 'application/x-www-form-urlencoded',
					origin: base(),
					accept: 'text/html',
					'transfer-encoding': 'chunked'
				}
			},
			(res) => {
				answered = true;
				res.resume();
				resolve({ status: res.statusCode ?? 0, sent });
				req.destroy();
			}
		);
		req.on('error', (error: NodeJS.ErrnoException) => {
			if (answered) return;
			answered = true;
			if (error.code === 'EPIPE' || error.code === 'ECONNRESET') resolve({ status: 0, sent });
			else reject(error);
		});
		const chunk = Buffer.alloc(64 * 1024, 'a');
		const write = () => {
			if (answered) return;
			if (sent >= totalBytes) return void req.end();
			sent += chunk.length;
			// Paced, so that the answer is seen between two chunks.
			if (req.write(chunk)) setTimeout(write, 1);
			else req.once('drain', write);
		};
		req.write('email=a%40b.c&password=');
		write();
	});
}

test.describe('request handling', () => {
	test('a streamed body over the limit is refused as it arrives, not after buffering', async () => {
		const result = await streamPost('/sign-in?/password', 200 * 1024 * 1024);
		expect([413, 0]).toContain(result.status);
		// The answer came long before the 200 MiB were sent.
		expect(result.sent).toBeLessThan(100 * 1024 * 1024);
	});

	test('a declared length over the limit is refused at once', async ({ request }) => {
		const response = await request.post('/sign-in?/password', {
			headers: { origin: base(), 'content-type': 'application/x-www-form-urlencoded' },
			data: 'password=' + 'a'.repeat(1024 * 1024 + 10)
		});
		expect(response.status()).toBe(413);
	});

	test('a 1 MB password gets a clear answer, not a hash of it', async ({ request }) => {
		const response = await request.post('/sign-in?/password', {
			headers: { origin: base(), accept: 'text/html' },
			form: { email: 'analyst@jiss.example', password: 'x'.repeat(1_000_000) },
			maxRedirects: 0
		});
		expect(response.status()).toBe(400);
		expect(await response.text()).toContain('The password is too long (at most 128 characters).');
	});

	test('a cross-site POST is refused, from a form and from fetch', async ({ request }) => {
		const crossSite = await request.post('/sign-out', {
			headers: { 'sec-fetch-site': 'cross-site', origin: base() },
			maxRedirects: 0
		});
		expect(crossSite.status()).toBe(403);
		const foreignOrigin = await request.post('/sign-in?/password', {
			headers: {
				origin: 'https://evil.example',
				'content-type': 'application/x-www-form-urlencoded'
			},
			data: 'email=a&password=b',
			maxRedirects: 0
		});
		expect(foreignOrigin.status()).toBe(403);
	});

	test('without a session, endpoints answer 401 and pages send to sign-in', async ({ request }) => {
		const api = await request.post('/documents/1/download', {
			headers: { origin: base(), accept: 'application/json' },
			maxRedirects: 0
		});
		expect(api.status()).toBe(401);
		const unknown = await request.get('/no-such-thing', { maxRedirects: 0 });
		expect(unknown.status()).toBe(401);
		const page = await request.get('/admin', { headers: { accept: 'text/html' }, maxRedirects: 0 });
		expect(page.status()).toBe(303);
		expect(page.headers().location).toBe('/sign-in?next=%2Fadmin');
		expect((await request.get('/healthz')).status()).toBe(200);
	});

	test('security headers on real responses', async ({ request }) => {
		const response = await request.get('/sign-in');
		const headers = response.headers();
		expect(headers['x-content-type-options']).toBe('nosniff');
		expect(headers['referrer-policy']).toBe('same-origin');
		expect(headers['cross-origin-opener-policy']).toBe('same-origin');
		expect(headers['cache-control']).toBe('no-store');
		const csp = headers['content-security-policy'] ?? '';
		expect(csp).toContain("object-src 'none'");
		expect(csp).toContain("base-uri 'none'");
		expect(csp).toContain("frame-ancestors 'none'");
		expect(csp).toMatch(/script-src 'self' 'nonce-[^']+'/);
		expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
		// Demo mode over plain http: no HSTS (production sets it).
		expect(headers['strict-transport-security']).toBeUndefined();
	});
});
