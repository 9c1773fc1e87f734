import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { desc, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CuttableProxy } from '../../../../tests/helpers/cuttable-proxy';
import { S3RVER_CREDENTIALS, startS3Server, type RunningS3 } from '../../../../tests/helpers/s3';
import { createVaultWorld, type Person, type VaultWorld } from '../../../../tests/helpers/vault';
import { loadConfig, setConfig } from '../config';
import { auditEvent, document, documentVersion, pendingUpload } from '../db/schema';
import {
	ObjectStoreUnavailableError,
	createObjectStore,
	setObjectStore,
	type ObjectStore
} from '../storage';
import { open } from './download';
import { UploadReaper } from './reaper';
import { UploadError, addVersionFromRequest, createFromRequest, errorResponse } from './upload';

/**
 * The object store going away in the middle of a transfer, through the domain functions: s3rver
 * sits behind a proxy that cuts every connection mid-stream (see tests/helpers/cuttable-proxy.ts).
 * tests/integration/store-outage-http.test.ts does the same through the built app.
 */

const ORIGIN = 'http://intranet.test';
const MiB = 1024 * 1024;

let world: VaultWorld;
let fellow: Person;
let proxy: CuttableProxy;
let store: ObjectStore;
/** The same bucket, not through the proxy: what is really there, whatever the proxy does. */
let direct: ObjectStore;
let s3: RunningS3;
let localDir: string;

beforeAll(async () => {
	localDir = mkdtempSync(path.join(os.tmpdir(), 'jiss-outage-'));
	setConfig(
		loadConfig({
			DATA_DIR: localDir,
			ORIGIN,
			UPLOAD_MAX_BYTES: String(64 * MiB),
			INTRANET_MODE: 'demo'
		})
	);
	world = await createVaultWorld();
	fellow = await world.person({ name: 'Fellow', level: 3 });
	// A private S3 server: the reaper below must see only this file's objects.
	s3 = await startS3Server('jiss-outage');
	proxy = new CuttableProxy(s3.port);
	await proxy.start();
	const storeAt = (endpoint: string) =>
		createObjectStore({
			kind: 's3',
			bucket: s3.bucket,
			endpoint,
			region: 'us-east-1',
			forcePathStyle: true,
			connectTimeoutMs: 2000,
			requestTimeoutMs: 30_000,
			credentials: S3RVER_CREDENTIALS
		});
	store = await storeAt(`http://127.0.0.1:${proxy.port}`);
	direct = await storeAt(s3.endpoint);
	setObjectStore(store);
});

afterAll(async () => {
	await proxy?.close();
	await world?.close();
	await s3?.stop();
	if (localDir) rmSync(localDir, { recursive: true, force: true });
});

const context = () => ({
	actor: { id: fellow.id, name: fellow.user.displayName, roles: fellow.user.roles },
	ip: '127.0.0.1',
	userAgent: 'vitest',
	requestId: 'outage'
});

/** A PDF of `size` bytes: the magic bytes, then spaces. */
function pdfOf(size: number): Buffer {
	const bytes = Buffer.alloc(size, 0x20);
	bytes.write('%PDF-1.7\n');
	return bytes;
}

function uploadRequest(pathname: string, fields: Record<string, string>, file: Buffer): Request {
	const data = new FormData();
	for (const [name, value] of Object.entries(fields)) data.append(name, value);
	data.append('file', new File([new Uint8Array(file)], 'orbit.pdf'));
	return new Request(`${ORIGIN}${pathname}`, {
		method: 'POST',
		body: data,
		headers: { origin: ORIGIN }
	});
}

const documentFields = () => ({
	title: 'Outage upload',
	level: '0',
	releasability: String(world.org.JISS),
	publish: 'on'
});

async function createDocument(bytes: Buffer): Promise<number> {
	return createFromRequest({
		request: uploadRequest('/documents/upload', documentFields(), bytes),
		user: fellow.user,
		context: context()
	});
}

async function objectKeys(): Promise<string[]> {
	const keys: string[] = [];
	for await (const object of direct.list('versions/')) keys.push(object.key);
	return keys.sort();
}

async function rows() {
	const count = async (table: typeof document | typeof documentVersion | typeof pendingUpload) => {
		const [row] = await world.db.select({ n: sql<number>`count(*)::int` }).from(table);
		return Number(row!.n);
	};
	return {
		documents: await count(document),
		versions: await count(documentVersion),
		pending: await count(pendingUpload)
	};
}

async function failure(promise: Promise<unknown>): Promise<UploadError> {
	try {
		await promise;
	} catch (error) {
		if (error instanceof UploadError) return error;
		throw error;
	}
	throw new Error('the upload was accepted');
}

describe('the object store going away mid-upload', () => {
	it.each([
		['a new document, in one request to the store', 'document', 3 * MiB],
		['a new document, in several parts', 'document', 20 * MiB],
		['a new version, in several parts', 'version', 20 * MiB]
	] as const)('%s: 503, nothing half-written, the reaper tidies up', async (_l, kind, size) => {
		const existing = kind === 'version' ? await createDocument(pdfOf(1024)) : null;
		const rowsBefore = await rows();
		const keysBefore = await objectKeys();

		proxy.cutAfter('up', MiB);
		const request =
			existing === null
				? uploadRequest('/documents/upload', documentFields(), pdfOf(size))
				: uploadRequest(`/documents/${existing}/versions/upload`, { note: 'v2' }, pdfOf(size));
		const upload =
			existing === null
				? createFromRequest({ request, user: fellow.user, context: context() })
				: addVersionFromRequest({
						request,
						user: fellow.user,
						context: context(),
						document: { id: existing }
					});
		const error = await failure(upload);
		expect(proxy.isDown).toBe(true);
		expect(error.code).toBe('storage_unavailable');

		// What the endpoint answers: a clear code, no stack, nothing of the store's address.
		const response = await errorResponse(error, {
			context: context(),
			attempted: 'document.upload',
			documentId: null
		});
		expect(response.status).toBe(503);
		const body = await response.text();
		expect(JSON.parse(body)).toEqual({ code: 'storage_unavailable', detail: null });
		expect(body).not.toMatch(/ at |127\.0\.0\.1|Error/);

		// No document, version or pending row: the object never became a pending upload.
		expect(await rows()).toEqual(rowsBefore);

		// Once the store is back, whatever reached it is found and removed within two sweeps.
		proxy.restore();
		const reaper = new UploadReaper(world.db, direct);
		await reaper.sweep(new Date(Date.now() - 3600_000));
		await reaper.sweep(new Date(Date.now() - 3600_000));
		expect(await objectKeys()).toEqual(keysBefore);
	});

	it('uploads again as soon as the store is back', async () => {
		proxy.restore();
		const id = await createDocument(pdfOf(2 * MiB));
		const [version] = await world.db
			.select()
			.from(documentVersion)
			.where(eq(documentVersion.documentId, id));
		expect(version!.size).toBe(2 * MiB);
	});
});

describe('the object store going away mid-download', () => {
	const size = 24 * MiB;
	let id: number;
	let expected: string;

	beforeAll(async () => {
		proxy.restore();
		const bytes = pdfOf(size);
		expected = createHash('sha256').update(bytes).digest('hex');
		id = await createDocument(bytes);
	});

	async function download() {
		const [doc] = await world.db.select().from(document).where(eq(document.id, id));
		return open({
			document: doc!,
			access: fellow.writer.access,
			context: context(),
			mode: 'download',
			rangeHeader: null,
			ifRangeHeader: null
		});
	}

	it('fails the body (no complete-looking 200), after the audit event was committed', async () => {
		const answer = await download();
		expect(answer.status).toBe(200);
		expect(answer.headers.get('content-length')).toBe(String(size));
		const [event] = await world.db.select().from(auditEvent).orderBy(desc(auditEvent.seq)).limit(1);
		expect(event).toMatchObject({ action: 'document.download', outcome: 'allowed' });
		expect(event!.details).toMatchObject({ documentId: id });

		proxy.cutAfter('down', 2 * MiB);
		let received = 0;
		const reading = (async () => {
			for await (const chunk of answer.body as unknown as AsyncIterable<Uint8Array>) {
				received += chunk.byteLength;
			}
		})();
		// An error, not an end: a client reading this body sees an aborted transfer.
		await expect(reading).rejects.toThrow();
		expect(proxy.isDown).toBe(true);
		expect(received).toBeLessThan(size);
	});

	it('closes the connection to the store when the reader goes away mid-body', async () => {
		proxy.restore();
		const answer = await download();
		const reader = answer.body!.getReader();
		const first = await reader.read();
		expect(first.done).toBe(false);
		const connection = proxy.lastDownstream!;
		expect(connection.closed).toBe(false);
		// What adapter-node does when the client's socket closes.
		await reader.cancel(new Error('client went away'));
		await vi.waitFor(() => expect(connection.closed).toBe(true), { timeout: 5_000 });
		// Closed by the cancel, not by the object running to its end into nobody's hands.
		expect(connection.bytesDown).toBeLessThan(size / 2);
		expect(proxy.isDown).toBe(false);
	});

	it('refuses with ObjectStoreUnavailableError (a 503, not a 500) when the store is down at the start', async () => {
		proxy.cutNow();
		await expect(download()).rejects.toBeInstanceOf(ObjectStoreUnavailableError);
		proxy.restore();
		// The read was recorded before the store was asked; a second event says nothing was sent.
		const [served, failed] = await world.db
			.select()
			.from(auditEvent)
			.orderBy(desc(auditEvent.seq))
			.limit(2)
			.then((rows) => rows.reverse());
		expect(served).toMatchObject({ action: 'document.download', outcome: 'allowed' });
		expect(failed).toMatchObject({ action: 'document.download', outcome: 'failed' });
		expect(failed!.details).toMatchObject({ reason: 'storage_unavailable', documentId: id });
	});

	it('serves the whole file again once the store is back', async () => {
		proxy.restore();
		const answer = await download();
		const hash = createHash('sha256');
		for await (const chunk of answer.body as unknown as AsyncIterable<Uint8Array>) {
			hash.update(chunk);
		}
		expect(hash.digest('hex')).toBe(expected);
	});
});
