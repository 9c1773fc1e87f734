import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import {
	AbortMultipartUploadCommand,
	CompleteMultipartUploadCommand,
	CreateMultipartUploadCommand,
	PutObjectCommand,
	S3Client,
	S3ServiceException,
	UploadPartCommand
} from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { S3RVER_CREDENTIALS, startS3Server, type RunningS3 } from '../../../../tests/helpers/s3';
import { S3_PART_SIZE, createS3ObjectStore } from './s3';
import { ObjectStoreUnavailableError, ObjectTooLargeError, type ObjectStore } from './types';

/*
 * The S3 adapter's streamed put against s3rver over HTTP, with every request the SDK client
 * sends watched (and, where a test says so, held or refused) on its way: which requests, in
 * which order, with which bytes, from which memory. multipart-upload.test.ts covers the part
 * writer on its own.
 */

const P = S3_PART_SIZE;
const KiB = 1024;
const BASE = randomBytes(P + 7);

/** Byte i of a payload of any size: the random base, stamped with the part it falls in. */
function payloadSlice(start: number, end: number): Buffer {
	const out = Buffer.alloc(end - start);
	for (let at = start; at < end;) {
		const offset = at % BASE.length;
		const count = Math.min(BASE.length - offset, end - at);
		BASE.copy(out, at - start, offset, offset + count);
		at += count;
	}
	// Every 4 KiB carries its own index, so a part sent twice or out of place shows.
	for (let block = Math.ceil(start / (4 * KiB)); block * 4 * KiB + 4 <= end; block++) {
		out.writeUInt32BE(block, block * 4 * KiB - start);
	}
	return out;
}

/** The payload in fresh chunks of `chunk` bytes, as a socket would hand them over. */
function payload(size: number, chunk: number): Readable {
	return Readable.from(
		(function* () {
			for (let at = 0; at < size; at += chunk) yield payloadSlice(at, Math.min(at + chunk, size));
		})()
	);
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

const ids = new WeakMap<ArrayBufferLike, number>();
let nextId = 0;
/** Which memory a view starts at: the same for a buffer and any view of it from its start. */
function memoryOf(view: Uint8Array): string {
	if (!ids.has(view.buffer)) ids.set(view.buffer, nextId++);
	return `${ids.get(view.buffer)}:${view.byteOffset}`;
}

interface Request {
	name: string;
	input: Record<string, unknown>;
	abortSignal?: AbortSignal;
	settled: boolean;
	/** When the request was handed to the client, and when it settled, on one counter. */
	sentAt: number;
	settledAt?: number;
	/** UploadPart only: its body's SHA-256 when handed to the client and when it settled. */
	sentSha?: string;
	settledSha?: string;
	length?: number;
	memory?: string;
}

type Send = (command: unknown, options?: { abortSignal?: AbortSignal }) => Promise<unknown>;
const realSend = S3Client.prototype.send as unknown as Send;

/**
 * Watches every request of every S3 client (the adapter's included). `before` runs before a
 * request goes out and may hold or refuse it; it should give up when the request's abort
 * signal fires, as the SDK's HTTP handler does.
 */
function watch(before: (request: Request) => Promise<void> = async () => {}) {
	const requests: Request[] = [];
	let clock = 0;
	let partsInFlight = 0;
	let maxPartsInFlight = 0;
	vi.spyOn(S3Client.prototype, 'send').mockImplementation(async function (
		this: S3Client,
		command: unknown,
		options?: { abortSignal?: AbortSignal }
	) {
		const { input } = command as { input: Record<string, unknown> };
		const request: Request = {
			name: (command as object).constructor.name,
			input,
			abortSignal: options?.abortSignal,
			settled: false,
			sentAt: clock++
		};
		requests.push(request);
		const body = command instanceof UploadPartCommand ? (input.Body as Buffer) : undefined;
		if (body) {
			request.sentSha = sha256(body);
			request.length = body.length;
			request.memory = memoryOf(body);
			maxPartsInFlight = Math.max(maxPartsInFlight, ++partsInFlight);
		}
		try {
			await before(request);
			return await realSend.call(this, command, options);
		} finally {
			// Later than the request itself: the writer must still keep its hands off the body.
			if (body) {
				await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20));
				request.settledSha = sha256(body);
				partsInFlight--;
			}
			request.settled = true;
			request.settledAt = clock++;
		}
	} as never);
	return {
		requests,
		named: (type: { name: string }) => requests.filter((r) => r.name === type.name),
		get maxPartsInFlight() {
			return maxPartsInFlight;
		}
	};
}

/** A wait that gives up, like the SDK, when the request's abort signal fires. */
function heldUntil(release: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
	return new Promise((resolve, reject) => {
		const cut = () => reject(Object.assign(new Error('Request aborted'), { name: 'AbortError' }));
		if (signal?.aborted) return cut();
		signal?.addEventListener('abort', cut, { once: true });
		void release.then(resolve);
	});
}

async function readAll(store: ObjectStore, key: string): Promise<Buffer> {
	const chunks: Buffer[] = [];
	for await (const chunk of (await store.get(key)).body) chunks.push(chunk as Buffer);
	return Buffer.concat(chunks);
}

async function keys(store: ObjectStore): Promise<string[]> {
	const all: string[] = [];
	for await (const item of store.list('versions/')) all.push(item.key);
	return all;
}

let s3: RunningS3;
let store: ObjectStore;

beforeAll(async () => {
	s3 = await startS3Server('jiss-s3-upload');
	store = createS3ObjectStore({
		kind: 's3',
		bucket: s3.bucket,
		endpoint: s3.endpoint,
		region: 'us-east-1',
		forcePathStyle: true,
		credentials: S3RVER_CREDENTIALS,
		connectTimeoutMs: 2000,
		requestTimeoutMs: 30_000
	});
});

afterEach(() => {
	vi.restoreAllMocks();
});

afterAll(async () => {
	await s3?.stop();
});

describe('S3 adapter: streamed put', () => {
	it('sends a many-part body from three part buffers, each part exactly its bytes', async () => {
		const size = 8 * P + 12_345;
		const seen = watch(async () => {
			// Parts take a while, so that the writer runs ahead of them and must wait.
			await new Promise((resolve) => setTimeout(resolve, Math.random() * 30));
		});
		const result = await store.put('versions', payload(size, 100_003));

		expect(seen.named(PutObjectCommand)).toHaveLength(0);
		expect(seen.named(CreateMultipartUploadCommand)).toHaveLength(1);
		const parts = seen.named(UploadPartCommand);
		expect(parts.map((p) => p.input.PartNumber)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
		for (const part of parts) {
			const n = part.input.PartNumber as number;
			const start = (n - 1) * P;
			const end = Math.min(n * P, size);
			expect(part.length, `part ${n}`).toBe(end - start);
			expect(part.sentSha, `part ${n}`).toBe(sha256(payloadSlice(start, end)));
			// Nothing was written into the part's buffer while it was being sent.
			expect(part.settledSha, `part ${n}`).toBe(part.sentSha);
		}
		// No new buffer per part: three, reused, for the nine parts.
		expect(new Set(parts.map((p) => p.memory)).size).toBeLessThanOrEqual(3);
		expect(seen.maxPartsInFlight).toBeLessThanOrEqual(2);
		const complete = seen.named(CompleteMultipartUploadCommand);
		expect(complete).toHaveLength(1);
		expect(seen.requests.at(-1)).toBe(complete[0]);

		const whole = payloadSlice(0, size);
		expect(result).toMatchObject({ size, sha256: sha256(whole) });
		const stored = await readAll(store, result.key);
		expect(stored.length).toBe(size);
		expect(sha256(stored)).toBe(sha256(whole));
		await store.delete(result.key);
	});

	it('puts a body of at most one part in one request; one byte more goes in two parts', async () => {
		const cases = [
			{ size: 0, requests: [PutObjectCommand.name] },
			{ size: 1, requests: [PutObjectCommand.name] },
			{ size: P, requests: [PutObjectCommand.name] },
			{
				size: P + 1,
				parts: [P, 1],
				requests: [
					CreateMultipartUploadCommand.name,
					UploadPartCommand.name,
					UploadPartCommand.name,
					CompleteMultipartUploadCommand.name
				]
			},
			{
				size: 2 * P,
				parts: [P, P],
				requests: [
					CreateMultipartUploadCommand.name,
					UploadPartCommand.name,
					UploadPartCommand.name,
					CompleteMultipartUploadCommand.name
				]
			}
		];
		for (const { size, requests, parts } of cases) {
			vi.restoreAllMocks();
			const seen = watch();
			const result = await store.put('versions', payload(size, 64 * KiB));
			expect(
				seen.requests.map((r) => r.name),
				`size ${size}`
			).toEqual(requests);
			if (parts) expect(seen.named(UploadPartCommand).map((p) => p.length)).toEqual(parts);
			vi.restoreAllMocks();
			const bytes = payloadSlice(0, size);
			expect(result, `size ${size}`).toMatchObject({ size, sha256: sha256(bytes) });
			expect((await readAll(store, result.key)).equals(bytes), `size ${size}`).toBe(true);
			await store.delete(result.key);
		}
	});

	it('stops at once when the size limit passes with parts in flight, and leaves nothing', async () => {
		const before = await keys(store);
		let release!: () => void;
		const released = new Promise<void>((resolve) => (release = resolve));
		let held = 0;
		let twoHeld!: () => void;
		const bothHeld = new Promise<void>((resolve) => (twoHeld = resolve));
		// The store takes the parts and never answers (until the test is over).
		const seen = watch(async (request) => {
			if (request.name !== UploadPartCommand.name) return;
			if (++held === 2) twoHeld();
			await heldUntil(released, request.abortSignal);
		});
		// Three parts and a bit: two parts go out, the third buffer fills and waits for them.
		// Only then do the bytes go past the limit.
		const limit = 3 * P + 64 * KiB + 10;
		async function* body() {
			yield* payload(3 * P + 64 * KiB, 64 * KiB);
			await bothHeld;
			yield payloadSlice(3 * P + 64 * KiB, 4 * P);
		}
		try {
			const attempt = store.put('versions', Readable.from(body()), { maxBytes: limit });
			const outcome = await Promise.race([
				attempt.then(
					() => 'stored',
					(error: unknown) => error
				),
				new Promise((resolve) => setTimeout(() => resolve('still waiting after 5 s'), 5000))
			]);
			expect(outcome).toBeInstanceOf(ObjectTooLargeError);
		} finally {
			release();
		}
		const parts = seen.named(UploadPartCommand);
		expect(parts).toHaveLength(2);
		// The two parts in flight were cut, and had settled before the upload was aborted.
		expect(parts.every((p) => p.abortSignal?.aborted)).toBe(true);
		const [created] = seen.named(CreateMultipartUploadCommand);
		const aborts = seen.named(AbortMultipartUploadCommand);
		expect(aborts).toHaveLength(1);
		expect(aborts[0]!.input).toMatchObject({ Key: created!.input.Key });
		expect(aborts[0]!.sentAt).toBeGreaterThan(Math.max(...parts.map((p) => p.settledAt!)));
		expect(seen.named(CompleteMultipartUploadCommand)).toHaveLength(0);
		vi.restoreAllMocks();
		expect(await keys(store)).toEqual(before);
	});

	it('answers ObjectStoreUnavailableError when the store refuses a part, and leaves nothing', async () => {
		const before = await keys(store);
		const seen = watch(async (request) => {
			if (request.name === UploadPartCommand.name && request.input.PartNumber === 3) {
				throw new S3ServiceException({
					name: 'InternalError',
					$fault: 'server',
					$metadata: { httpStatusCode: 500 },
					message: 'We encountered an internal error. Please try again.'
				});
			}
		});
		await expect(store.put('versions', payload(6 * P, 64 * KiB))).rejects.toBeInstanceOf(
			ObjectStoreUnavailableError
		);
		const parts = seen.named(UploadPartCommand);
		expect(parts.map((p) => p.input.PartNumber)).toEqual(expect.arrayContaining([1, 2, 3]));
		expect(parts.length).toBeLessThanOrEqual(4);
		const abort = seen.named(AbortMultipartUploadCommand);
		expect(abort).toHaveLength(1);
		// Every part had settled before the abort went out; nothing was completed.
		expect(abort[0]!.sentAt).toBeGreaterThan(Math.max(...parts.map((p) => p.settledAt!)));
		expect(seen.named(CompleteMultipartUploadCommand)).toHaveLength(0);
		vi.restoreAllMocks();
		expect(await keys(store)).toEqual(before);
	});
});
