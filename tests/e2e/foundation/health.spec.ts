import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { createServerDatabase, needsServerReason, onServer } from '../../helpers/database';
import { freePort } from '../../helpers/ports';

test('healthz answers while the process is alive, readyz when its services are', async ({
	request
}) => {
	const health = await request.get('/healthz');
	expect(health.status()).toBe(200);
	expect(await health.json()).toEqual({ status: 'ok' });
	const ready = await request.get('/readyz');
	expect(ready.status()).toBe(200);
	expect(await ready.json()).toMatchObject({ status: 'ready', database: 'ok', objectStore: 'ok' });
});

/** A TCP proxy in front of PostgreSQL that the test can cut and restore. */
async function startProxy(target: { host: string; port: number }, port = 0) {
	const sockets = new Set<net.Socket>();
	const server = net.createServer((client) => {
		const upstream = net.connect(target.port, target.host);
		sockets.add(client).add(upstream);
		client.pipe(upstream).pipe(client);
		const close = () => {
			client.destroy();
			upstream.destroy();
			sockets.delete(client);
			sockets.delete(upstream);
		};
		client.on('error', close).on('close', close);
		upstream.on('error', close).on('close', close);
	});
	await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
	const address = server.address() as net.AddressInfo;
	return {
		port: address.port,
		async stop() {
			for (const socket of sockets) socket.destroy();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		}
	};
}

test.describe('when the database goes away', () => {
	test.skip(!onServer, needsServerReason);

	let app: ChildProcess | undefined;
	let dataDir: string | undefined;
	test.afterEach(() => {
		app?.kill('SIGTERM');
		if (dataDir) rmSync(dataDir, { recursive: true, force: true });
	});

	test('readyz names the database, pages show a plain error, and the app recovers', async ({
		request
	}) => {
		test.setTimeout(120_000);
		const database = await createServerDatabase();
		const pg = new URL(process.env.DATABASE_URL!);
		let proxy = await startProxy({ host: pg.hostname, port: Number(pg.port || 5432) });
		const url = new URL(database.url);
		url.host = `127.0.0.1:${proxy.port}`;
		const port = await freePort();
		dataDir = mkdtempSync(path.join(os.tmpdir(), 'jiss-resilience-'));
		app = spawn(process.execPath, ['server.js'], {
			env: {
				...process.env,
				DATABASE_URL: url.toString(),
				INTRANET_MODE: 'demo',
				DATA_DIR: dataDir,
				PORT: String(port),
				ORIGIN: `http://127.0.0.1:${port}`,
				HOST: '127.0.0.1',
				LOG_LEVEL: 'silent'
			},
			stdio: 'ignore'
		});
		const base = `http://127.0.0.1:${port}`;
		await expect
			.poll(async () => (await request.get(`${base}/readyz`).catch(() => null))?.status(), {
				timeout: 60_000
			})
			.toBe(200);

		await proxy.stop();
		const down = await request.get(`${base}/readyz`);
		expect(down.status()).toBe(503);
		expect(await down.json()).toMatchObject({
			status: 'not ready',
			database: 'failing',
			objectStore: 'ok',
			failing: ['database']
		});
		// A well-formed session cookie makes the page look its session up in the database, which
		// is gone: the answer is the plain error page, without a stack trace or a driver message.
		const page = await request.get(`${base}/`, {
			headers: {
				accept: 'text/html',
				cookie: `session=${'a'.repeat(24)}.${'b'.repeat(32)}`
			},
			maxRedirects: 0
		});
		expect(page.status()).toBeGreaterThanOrEqual(500);
		const body = await page.text();
		expect(body).toContain('JISS Intranet');
		expect(body).not.toMatch(/at .*\.js:\d+|ECONNREFUSED|postgres|stack/i);

		proxy = await startProxy({ host: pg.hostname, port: Number(pg.port || 5432) }, proxy.port);
		await expect
			.poll(async () => (await request.get(`${base}/readyz`)).status(), { timeout: 30_000 })
			.toBe(200);
		// Recovered: the same request is answered normally (an unknown session goes to sign-in).
		const after = await request.get(`${base}/`, {
			headers: { accept: 'text/html', cookie: `session=${'a'.repeat(24)}.${'b'.repeat(32)}` },
			maxRedirects: 0
		});
		expect(after.status()).toBe(303);
		expect(after.headers()['location']).toBe('/sign-in');
		await proxy.stop();
		app.kill('SIGTERM');
		await database.drop().catch(() => {});
	});
});
