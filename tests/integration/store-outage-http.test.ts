import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
	APP_ENTRY,
	ensureBuilt,
	freePort,
	signInOverHttp,
	waitUntilReady
} from '../helpers/built-app';
import { CuttableProxy } from '../helpers/cuttable-proxy';
import { S3RVER_CREDENTIALS, startS3Server, type RunningS3 } from '../helpers/s3';

/**
 * The object store going away mid-upload and mid-download, through the BUILT app (`npm run
 * build` first) whose S3 store is a private s3rver behind a proxy that can cut it mid-stream.
 */
const MiB = 1024 * 1024;
let server: ChildProcess;
let output = '';
let origin: string;
let dataDir: string;
let s3: RunningS3;
let proxy: CuttableProxy;
let cookie = '';

beforeAll(async () => {
	ensureBuilt();
	s3 = await startS3Server('jiss-outage-http');
	proxy = new CuttableProxy(s3.port);
	await proxy.start();
	dataDir = mkdtempSync(path.join(os.tmpdir(), 'jiss-outage-http-'));
	const port = await freePort();
	origin = `http://127.0.0.1:${port}`;
	const env: NodeJS.ProcessEnv = {
		...process.env,
		PORT: String(port),
		HOST: '127.0.0.1',
		ORIGIN: origin,
		BODY_SIZE_LIMIT: 'Infinity',
		DATA_DIR: dataDir,
		INTRANET_MODE: 'demo',
		LOG_LEVEL: 'warn',
		S3_BUCKET: s3.bucket,
		S3_ENDPOINT: `http://127.0.0.1:${proxy.port}`,
		S3_FORCE_PATH_STYLE: 'true',
		S3_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
		S3_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
		S3_CONNECT_TIMEOUT_MS: '2000'
	};
	delete env.DATABASE_URL;
	server = spawn(process.execPath, [APP_ENTRY], {
		env,
		stdio: ['ignore', 'pipe', 'pipe']
	});
	server.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
	server.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
	await waitUntilReady(origin);
	cookie = await signInOverHttp(origin, 'fellow@jiss.example');
}, 400_000);

afterAll(async () => {
	if (server && server.exitCode === null && server.signalCode === null) {
		server.kill('SIGTERM');
		await new Promise((r) => server.once('exit', r));
	}
	await proxy?.close();
	await s3?.stop();
	if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

function pdfOf(size: number): Uint8Array<ArrayBuffer> {
	const bytes = Buffer.alloc(size, 0x20);
	bytes.write('%PDF-1.7\n');
	return new Uint8Array(bytes);
}

async function upload(title: string, size: number): Promise<Response> {
	const data = new FormData();
	data.append('title', title);
	data.append('level', '0');
	data.append('releasability', '1');
	data.append('publish', 'on');
	data.append('file', new File([pdfOf(size)], 'orbit.pdf'));
	return fetch(`${origin}/documents/upload`, {
		method: 'POST',
		headers: { origin, cookie, accept: 'application/json' },
		body: data
	});
}

/** A raw download: how many bytes came, what was announced, and whether it ended cleanly. */
function download(id: number) {
	return new Promise<{ status: number; length: number; received: number; ended: boolean }>(
		(resolve, reject) => {
			const request = http.get(`${origin}/documents/${id}/download`, { headers: { cookie } });
			request.on('error', reject);
			request.on('response', (response) => {
				let received = 0;
				let settled = false;
				const settle = (ended: boolean) => {
					if (settled) return;
					settled = true;
					resolve({
						status: response.statusCode ?? 0,
						length: Number(response.headers['content-length']),
						received,
						ended
					});
				};
				response.on('data', (chunk: Buffer) => (received += chunk.length));
				response.on('end', () => settle(true));
				response.on('error', () => settle(false));
				response.on('aborted', () => settle(false));
				response.on('close', () => settle(response.complete));
			});
		}
	);
}

describe('the object store going away, through the built app', () => {
	it('answers 503 storage_unavailable, without a stack, when the store goes away mid-upload', async () => {
		proxy.cutAfter('up', MiB);
		const response = await upload('Cut upload', 20 * MiB);
		expect(proxy.isDown).toBe(true);
		expect(response.status).toBe(503);
		const body = await response.text();
		expect(JSON.parse(body)).toEqual({ code: 'storage_unavailable', detail: null });
		expect(body).not.toMatch(/ at |127\.0\.0\.1|Error/);
		proxy.restore();
		// Nothing was written: the document list does not know it.
		const list = await fetch(`${origin}/documents`, { headers: { cookie } });
		expect(await list.text()).not.toContain('Cut upload');
	}, 120_000);

	it('aborts a download when the store goes away mid-body, logs it, and keeps serving', async () => {
		proxy.restore();
		const size = 24 * MiB;
		const created = await upload('Large download', size);
		expect(created.status).toBe(201);
		const { id } = (await created.json()) as { id: number };

		proxy.cutAfter('down', 2 * MiB);
		const cut = await download(id);
		expect(proxy.isDown).toBe(true);
		expect(cut.status).toBe(200);
		expect(cut.length).toBe(size);
		// The client can tell: the connection ended before the announced length, not cleanly.
		expect(cut.ended).toBe(false);
		expect(cut.received).toBeLessThan(size);

		proxy.restore();
		expect((await fetch(`${origin}/readyz`)).ok).toBe(true);
		const page = await fetch(`${origin}/documents/${id}`, { headers: { cookie } });
		expect(page.status).toBe(200);
		await page.text();
		const again = await download(id);
		expect(again).toEqual({ status: 200, length: size, received: size, ended: true });
		expect(output).toContain('file transfer interrupted');
	}, 120_000);

	it('answers 503 with a plain page, not 500, when the store is down as a download starts', async () => {
		proxy.restore();
		const created = await upload('Store down at start', 64 * 1024);
		expect(created.status).toBe(201);
		const { id } = (await created.json()) as { id: number };
		proxy.cutNow();
		try {
			for (const route of ['download', 'preview', 'versions/1/download']) {
				const page = await fetch(`${origin}/documents/${id}/${route}`, {
					headers: { cookie, accept: 'text/html' }
				});
				const html = await page.text();
				expect(page.status, route).toBe(503);
				// The plain bilingual page (src/error.html), never a stack or an address.
				expect(html).toContain('temporarily unavailable');
				expect(html).toContain('一時的に利用できません');
				expect(html).not.toMatch(/ at |127\.0\.0\.1|Error:|Internal Error/);
				for (const [locale, message] of [
					['en', 'The document store is temporarily unavailable. Please try again later.'],
					['ja', '文書の保管庫が一時的に利用できません。しばらくしてからお試しください。']
				]) {
					const answer = await fetch(`${origin}/documents/${id}/${route}`, {
						headers: { cookie: `${cookie}; locale=${locale}`, accept: 'application/json' }
					});
					expect(answer.status, `${route} ${locale}`).toBe(503);
					expect(await answer.json()).toMatchObject({ message });
				}
			}
		} finally {
			proxy.restore();
		}
		const again = await download(id);
		expect(again).toMatchObject({ status: 200, ended: true });
		expect(output).toContain('the object store is unavailable');
	}, 120_000);
});
