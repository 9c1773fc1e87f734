import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3RVER_CREDENTIALS, startS3Server } from '../../../../tests/helpers/s3';
import { createLocalObjectStore } from './local';
import { createS3ObjectStore, S3_PART_SIZE } from './s3';
import {
	InvalidObjectKeyError,
	InvalidRangeError,
	ObjectNotFoundError,
	ObjectStoreUnavailableError,
	ObjectTooLargeError,
	type ObjectStore
} from './types';

/*
 * One contract, two adapters: every behaviour the rest of the intranet relies on is checked
 * against the local directory and against a real S3 server spoken to over HTTP (s3rver).
 */

const KEY =
	/^(versions|checkpoints|health)\/\d{4}\/\d{2}\/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const MiB = 1024 * 1024;
const BLOCK = MiB;
const BASE = randomBytes(BLOCK);

/** Byte `i` of a deterministic test payload: blocks of random bytes, each stamped with its index. */
function block(index: number): Buffer {
	const copy = Buffer.from(BASE);
	copy.writeUInt32BE(index, 0);
	return copy;
}

function* payloadChunks(size: number): Generator<Buffer> {
	for (let offset = 0, index = 0; offset < size; offset += BLOCK, index++) {
		const chunk = block(index);
		yield offset + BLOCK <= size ? chunk : chunk.subarray(0, size - offset);
	}
}

function payload(size: number): Readable {
	return Readable.from(payloadChunks(size));
}

/** Bytes [start, end] of the payload, computed independently of any store. */
function payloadSlice(start: number, end: number): Buffer {
	const parts: Buffer[] = [];
	for (let index = Math.floor(start / BLOCK); index * BLOCK <= end; index++) {
		const from = Math.max(start - index * BLOCK, 0);
		const to = Math.min(end - index * BLOCK, BLOCK - 1);
		parts.push(block(index).subarray(from, to + 1));
	}
	return Buffer.concat(parts);
}

function sha256Of(chunks: Iterable<Buffer>): string {
	const hash = createHash('sha256');
	for (const chunk of chunks) hash.update(chunk);
	return hash.digest('hex');
}

async function readAll(body: Readable): Promise<Buffer> {
	const chunks: Buffer[] = [];
	for await (const chunk of body) chunks.push(chunk as Buffer);
	return Buffer.concat(chunks);
}

async function digestOf(body: Readable): Promise<{ size: number; sha256: string }> {
	const hash = createHash('sha256');
	let size = 0;
	for await (const chunk of body) {
		hash.update(chunk as Buffer);
		size += (chunk as Buffer).length;
	}
	return { size, sha256: hash.digest('hex') };
}

async function keysOf(store: ObjectStore, prefix = ''): Promise<string[]> {
	const keys: string[] = [];
	for await (const item of store.list(prefix)) keys.push(item.key);
	return keys;
}

/** A stream that delivers `before` bytes and then fails, as a client that goes away does. */
function failingStream(before: number, error: Error): Readable {
	let sent = 0;
	return new Readable({
		read() {
			if (sent >= before) {
				this.destroy(error);
				return;
			}
			const chunk = block(sent / BLOCK).subarray(0, Math.min(BLOCK, before - sent));
			sent += chunk.length;
			this.push(chunk);
		}
	});
}

async function withConcurrency<T>(count: number, limit: number, task: (i: number) => Promise<T>) {
	const results: T[] = [];
	let next = 0;
	await Promise.all(
		Array.from({ length: limit }, async () => {
			while (next < count) {
				const i = next++;
				results[i] = await task(i);
			}
		})
	);
	return results;
}

interface AdapterUnderTest {
	name: string;
	open(): Promise<{
		store: ObjectStore;
		/** The same kind of store, after its backing service has gone away. */
		broken(): Promise<ObjectStore>;
		close(): Promise<void>;
	}>;
}

const temp: string[] = [];
function tempDir(): string {
	const dir = mkdtempSync(path.join(os.tmpdir(), 'jiss-store-'));
	temp.push(dir);
	return dir;
}
afterAll(() => {
	for (const dir of temp) rmSync(dir, { recursive: true, force: true });
});

function s3Store(s3: { endpoint: string; bucket: string }, requestTimeoutMs = 30_000) {
	return createS3ObjectStore({
		kind: 's3',
		bucket: s3.bucket,
		endpoint: s3.endpoint,
		region: 'us-east-1',
		forcePathStyle: true,
		credentials: S3RVER_CREDENTIALS,
		connectTimeoutMs: 2000,
		requestTimeoutMs
	});
}

const adapters: AdapterUnderTest[] = [
	{
		name: 'local directory',
		async open() {
			const root = path.join(tempDir(), 'objects');
			return {
				store: createLocalObjectStore(root),
				async broken() {
					// A volume that is gone and whose mount point is now something else.
					const gone = path.join(tempDir(), 'objects');
					const store = createLocalObjectStore(gone);
					await store.put('versions', Readable.from([Buffer.from('before')]));
					rmSync(gone, { recursive: true, force: true });
					writeFileSync(gone, 'not a directory');
					return store;
				},
				close: async () => {}
			};
		}
	},
	{
		name: 'S3 (s3rver over HTTP)',
		async open() {
			const s3 = await startS3Server('jiss-contract');
			return {
				store: s3Store(s3),
				async broken() {
					const doomed = await startS3Server('jiss-doomed');
					const store = s3Store(doomed);
					await store.put('versions', Readable.from([Buffer.from('before')]));
					await doomed.stop();
					return store;
				},
				async close() {
					await s3.stop();
				}
			};
		}
	}
];

describe.each(adapters)('object store contract: $name', (adapter) => {
	let store: ObjectStore;
	let opened: Awaited<ReturnType<AdapterUnderTest['open']>>;

	beforeAll(async () => {
		opened = await adapter.open();
		store = opened.store;
	});
	afterAll(async () => {
		await opened.close();
	});

	it('puts a stream under a server-made key and reports its size and SHA-256', async () => {
		const bytes = payloadSlice(0, 300_000 - 1);
		const first = await store.put('versions', payload(300_000), { contentType: 'text/plain' });
		expect(first.key).toMatch(KEY);
		expect(first.key.startsWith('versions/')).toBe(true);
		expect(first.size).toBe(300_000);
		expect(first.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));

		const second = await store.put('versions', payload(300_000));
		expect(second.key).not.toBe(first.key);
		expect(second.sha256).toBe(first.sha256);

		const whole = await store.get(first.key);
		expect(whole.size).toBe(300_000);
		expect(whole.range).toBeUndefined();
		expect((await readAll(whole.body)).equals(bytes)).toBe(true);
		expect(await store.head(first.key)).toEqual({ key: first.key, size: 300_000 });
	});

	it('accepts any async iterable of bytes and reports progress as bytes arrive', async () => {
		const seen: number[] = [];
		async function* parts() {
			yield new Uint8Array([1, 2, 3]);
			yield Buffer.from('four');
		}
		const result = await store.put('checkpoints', parts(), {
			onProgress: (bytes) => seen.push(bytes)
		});
		expect(result.size).toBe(7);
		expect(seen).toEqual([3, 7]);
		const back = await readAll((await store.get(result.key)).body);
		expect([...back]).toEqual([1, 2, 3, ...Buffer.from('four')]);
	});

	it('stores and returns an empty object', async () => {
		const empty = await store.put('versions', Readable.from([]));
		expect(empty.size).toBe(0);
		expect(empty.sha256).toBe(createHash('sha256').digest('hex'));
		expect(await store.head(empty.key)).toEqual({ key: empty.key, size: 0 });
		const got = await store.get(empty.key);
		expect(got.size).toBe(0);
		expect((await readAll(got.body)).length).toBe(0);
		await expect(store.get(empty.key, { start: 0 })).rejects.toBeInstanceOf(InvalidRangeError);
		await expect(store.get(empty.key, { suffix: 1 })).rejects.toBeInstanceOf(InvalidRangeError);
	});

	it('returns byte ranges: first, middle, suffix, open-ended and clipped', async () => {
		const size = 100_000;
		const { key } = await store.put('versions', payload(size));
		const cases: [Parameters<ObjectStore['get']>[1], number, number][] = [
			[{ start: 0, end: 0 }, 0, 0],
			[{ start: 0, end: 99 }, 0, 99],
			[{ start: 4096, end: 70_000 }, 4096, 70_000],
			[{ suffix: 500 }, size - 500, size - 1],
			[{ suffix: size + 10 }, 0, size - 1],
			[{ start: 99_000 }, 99_000, size - 1],
			[{ start: size - 1 }, size - 1, size - 1],
			[{ start: 98_000, end: size + 5000 }, 98_000, size - 1]
		];
		for (const [range, start, end] of cases) {
			const got = await store.get(key, range);
			expect(got.size, JSON.stringify(range)).toBe(size);
			expect(got.range, JSON.stringify(range)).toEqual({ start, end });
			const bytes = await readAll(got.body);
			expect(bytes.equals(payloadSlice(start, end)), JSON.stringify(range)).toBe(true);
		}
	});

	it('refuses ranges that select no byte with InvalidRangeError', async () => {
		const { key } = await store.put('versions', payload(1000));
		for (const range of [
			{ start: 1000 },
			{ start: 5000, end: 6000 },
			{ start: -1, end: 10 },
			{ start: 10, end: 9 },
			{ start: 1.5, end: 10 },
			{ start: Number.NaN },
			{ suffix: 0 },
			{ suffix: -3 }
		]) {
			const attempt = store.get(key, range);
			await expect(attempt, JSON.stringify(range)).rejects.toBeInstanceOf(InvalidRangeError);
			await expect(attempt).rejects.toMatchObject({ size: 1000 });
		}
	});

	it('answers a missing key with ObjectNotFoundError, and deletes idempotently', async () => {
		const { key } = await store.put('versions', payload(10));
		await store.delete(key);
		await expect(store.head(key)).rejects.toBeInstanceOf(ObjectNotFoundError);
		await expect(store.get(key)).rejects.toBeInstanceOf(ObjectNotFoundError);
		await expect(store.get(key, { start: 0, end: 1 })).rejects.toMatchObject({
			name: 'ObjectNotFoundError',
			key
		});
		await expect(store.delete(key)).resolves.toBeUndefined();
		const neverWritten = 'versions/2026/01/00000000-0000-4000-8000-000000000000';
		await expect(store.head(neverWritten)).rejects.toBeInstanceOf(ObjectNotFoundError);
		expect(await keysOf(store)).not.toContain(key);
	});

	it('lists by prefix in key order', async () => {
		const made = await Promise.all([
			store.put('checkpoints', payload(11)),
			store.put('checkpoints', payload(12)),
			store.put('checkpoints', payload(13))
		]);
		const listed: { key: string; size: number }[] = [];
		for await (const item of store.list('checkpoints/')) listed.push(item);
		const ours = listed.filter((item) => made.some((m) => m.key === item.key));
		expect(ours.map((i) => i.size).sort()).toEqual([11, 12, 13]);
		const keys = listed.map((i) => i.key);
		expect(keys).toEqual([...keys].sort());
		expect(keys.every((k) => k.startsWith('checkpoints/'))).toBe(true);

		const month = made[0]!.key.slice(0, 'checkpoints/2026/01/'.length);
		expect(await keysOf(store, month)).toEqual(expect.arrayContaining(made.map((m) => m.key)));
		expect(await keysOf(store, made[0]!.key)).toEqual([made[0]!.key]);
		expect(await keysOf(store, 'checkpoints/1999/')).toEqual([]);
		const everything = await keysOf(store);
		expect(everything).toEqual(expect.arrayContaining(made.map((m) => m.key)));
		expect(everything.some((k) => k.startsWith('versions/'))).toBe(true);
	});

	it('lists across pages when a prefix holds more than 1000 objects', async () => {
		const count = 1005;
		const made = await withConcurrency(count, 16, (i) =>
			store.put('health', Readable.from([Buffer.from(String(i))]))
		);
		const listed: { key: string; size: number }[] = [];
		for await (const item of store.list('health/')) listed.push(item);
		expect(listed).toHaveLength(count);
		expect(new Set(listed.map((i) => i.key))).toEqual(new Set(made.map((m) => m.key)));
		const sizes = new Map(made.map((m) => [m.key, m.size]));
		expect(listed.every((item) => sizes.get(item.key) === item.size)).toBe(true);
		const keys = listed.map((i) => i.key);
		expect(keys).toEqual([...keys].sort());
	});

	it('enforces the maximum size while streaming and leaves nothing behind', async () => {
		const before = await keysOf(store);
		// Larger than one S3 part: the limit trips after the first part is already uploaded.
		const limit = S3_PART_SIZE + MiB;
		await expect(
			store.put('versions', payload(S3_PART_SIZE + 3 * MiB), { maxBytes: limit })
		).rejects.toBeInstanceOf(ObjectTooLargeError);
		await expect(store.put('versions', payload(1001), { maxBytes: 1000 })).rejects.toMatchObject({
			name: 'ObjectTooLargeError',
			maxBytes: 1000
		});
		expect(await keysOf(store)).toEqual(before);

		const exact = await store.put('versions', payload(1000), { maxBytes: 1000 });
		expect(exact.size).toBe(1000);
	});

	it('streams a 50 MB object through a multipart upload and back', async () => {
		const size = 50 * MiB + 123;
		expect(size).toBeGreaterThan(S3_PART_SIZE * 2);
		let lastProgress = 0;
		const result = await store.put('versions', payload(size), {
			onProgress: (bytes) => (lastProgress = bytes)
		});
		expect(result.size).toBe(size);
		expect(lastProgress).toBe(size);
		expect(result.sha256).toBe(sha256Of(payloadChunks(size)));
		expect(await store.head(result.key)).toEqual({ key: result.key, size });

		const whole = await store.get(result.key);
		expect(await digestOf(whole.body)).toEqual({ size, sha256: result.sha256 });
		// Across the boundary between the first and second part.
		const seam = await store.get(result.key, { start: S3_PART_SIZE - 10, end: S3_PART_SIZE + 9 });
		expect(
			(await readAll(seam.body)).equals(payloadSlice(S3_PART_SIZE - 10, S3_PART_SIZE + 9))
		).toBe(true);
		const tail = await store.get(result.key, { suffix: 123 });
		expect((await readAll(tail.body)).equals(payloadSlice(size - 123, size - 1))).toBe(true);
		await store.delete(result.key);
	});

	it('leaves nothing behind when the incoming stream fails midway, and keeps its error', async () => {
		const before = await keysOf(store);
		for (const sent of [1000, S3_PART_SIZE + 2 * MiB]) {
			const failure = new Error(`client went away after ${sent} bytes`);
			const attempt = store.put('versions', failingStream(sent, failure));
			await expect(attempt).rejects.toBe(failure);
		}
		expect(await keysOf(store)).toEqual(before);
	});

	it('makes every key itself and refuses keys and prefixes it did not make', async () => {
		const { key } = await store.put('versions', payload(5));
		const uuid = key.split('/')[3]!;
		const refused = [
			'',
			'../../etc/passwd',
			'/etc/passwd',
			'versions/../../../etc/passwd',
			`versions/2026/01/${uuid}/..`,
			`versions/2026/01/../${uuid}`,
			`versions/2026/../01/${uuid}`,
			`./versions/2026/01/${uuid}`,
			`versions//2026/01/${uuid}`,
			`versions\\2026\\01\\${uuid}`,
			`VERSIONS/2026/01/${uuid}`,
			`versions/2026/01/${uuid.toUpperCase()}`,
			`versions/2026/01/${uuid}\0`,
			`versions/2026/01/${uuid}?x=1`,
			`versions/2026/01/%2e%2e`,
			`uploads/2026/01/${uuid}`,
			`other-bucket/${key}`,
			`${key}/`,
			`${key} `
		];
		for (const bad of refused) {
			await expect(store.get(bad), bad).rejects.toBeInstanceOf(InvalidObjectKeyError);
			await expect(store.head(bad), bad).rejects.toBeInstanceOf(InvalidObjectKeyError);
			await expect(store.delete(bad), bad).rejects.toBeInstanceOf(InvalidObjectKeyError);
		}
		for (const bad of ['../', '/versions', 'versions/../..', 'versions/2026/01/*', 'a b']) {
			await expect(keysOf(store, bad), bad).rejects.toBeInstanceOf(InvalidObjectKeyError);
		}
		const unknownPrefix = '../outside' as unknown as 'versions';
		await expect(store.put(unknownPrefix, payload(5))).rejects.toBeInstanceOf(
			InvalidObjectKeyError
		);
		// The object that was made is untouched by all of that.
		expect(await store.head(key)).toEqual({ key, size: 5 });
	});

	it('answers ObjectStoreUnavailableError for every operation when the store is gone', async () => {
		const broken = await opened.broken();
		const key = 'versions/2026/01/00000000-0000-4000-8000-000000000000';
		await expect(broken.put('versions', payload(10))).rejects.toBeInstanceOf(
			ObjectStoreUnavailableError
		);
		await expect(broken.get(key)).rejects.toBeInstanceOf(ObjectStoreUnavailableError);
		await expect(broken.get(key, { suffix: 2 })).rejects.toBeInstanceOf(
			ObjectStoreUnavailableError
		);
		await expect(broken.head(key)).rejects.toBeInstanceOf(ObjectStoreUnavailableError);
		await expect(broken.delete(key)).rejects.toBeInstanceOf(ObjectStoreUnavailableError);
		await expect(keysOf(broken)).rejects.toBeInstanceOf(ObjectStoreUnavailableError);
		await expect(broken.ping()).rejects.toBeInstanceOf(ObjectStoreUnavailableError);
		await expect(store.ping()).resolves.toBeUndefined();
	});
});

describe('S3 adapter timeouts', () => {
	it('gives up on a server that accepts connections and never answers', async () => {
		const held = new Set<net.Socket>();
		const silent = net.createServer((socket) => {
			held.add(socket);
			socket.on('error', () => {});
		});
		await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
		const { port } = silent.address() as net.AddressInfo;
		try {
			const store = s3Store({ endpoint: `http://127.0.0.1:${port}`, bucket: 'jiss-silent' }, 300);
			await expect(
				store.head('versions/2026/01/00000000-0000-4000-8000-000000000000')
			).rejects.toMatchObject({
				name: 'ObjectStoreUnavailableError',
				cause: expect.objectContaining({ name: 'TimeoutError' })
			});
			await expect(store.put('versions', payload(10))).rejects.toBeInstanceOf(
				ObjectStoreUnavailableError
			);
			await expect(store.ping()).rejects.toBeInstanceOf(ObjectStoreUnavailableError);
			expect(held.size).toBeGreaterThan(0);
		} finally {
			for (const socket of held) socket.destroy();
			await new Promise<void>((resolve) => silent.close(() => resolve()));
		}
	});
});

describe('local adapter', () => {
	it('keeps its temp folder empty after failed writes', async () => {
		const root = path.join(tempDir(), 'objects');
		const store = createLocalObjectStore(root);
		await expect(store.put('versions', payload(2000), { maxBytes: 10 })).rejects.toBeInstanceOf(
			ObjectTooLargeError
		);
		await expect(store.put('versions', failingStream(500, new Error('gone')))).rejects.toThrow(
			'gone'
		);
		expect(readdirSync(path.join(root, '.tmp'))).toEqual([]);
		expect(readdirSync(root)).toEqual(['.tmp']);
	});
});
