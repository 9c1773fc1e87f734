import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { writeParts, type CompletedPart, type PartSink } from './multipart-upload';

/*
 * writeParts against an instrumented fake store: what it sends, when, and from which buffers.
 * The S3 adapter's own tests (s3-upload.test.ts) do the same against s3rver over HTTP.
 */

interface SentPart {
	partNumber: number;
	/** The bytes as they were when the part was handed over. */
	bytes: Buffer;
	body: Buffer;
	signal: AbortSignal;
	/** Set when the part has settled: were its bytes still the same then? */
	unchangedAtSettle?: boolean;
}

type Step = 'put' | 'create' | `part ${number}` | 'complete' | 'abort' | `settled ${number}`;

/**
 * A store that records every call. Each part is answered by `answer` (by default at once),
 * and is checked, when it settles, to have been left untouched while it was in flight.
 */
class FakeSink implements PartSink {
	readonly steps: Step[] = [];
	readonly parts: SentPart[] = [];
	/** The memory each part was sent from (small buffers share one ArrayBuffer: hence the offset). */
	readonly buffers = new Set<string>();
	whole: Buffer | undefined;
	completed: CompletedPart[] | undefined;
	aborted: string[] = [];
	inFlight = 0;
	maxInFlight = 0;

	constructor(
		private readonly answer: (part: SentPart) => Promise<void> = async () => {},
		private readonly failures: Partial<Record<'create' | 'complete' | 'abort', Error>> = {}
	) {}

	async putWhole(body: Buffer) {
		this.steps.push('put');
		this.whole = Buffer.from(body);
	}

	async create() {
		this.steps.push('create');
		await Promise.resolve();
		if (this.failures.create) throw this.failures.create;
		return 'upload-1';
	}

	async uploadPart(uploadId: string, partNumber: number, body: Buffer, signal: AbortSignal) {
		expect(uploadId).toBe('upload-1');
		this.steps.push(`part ${partNumber}`);
		const part: SentPart = { partNumber, bytes: Buffer.from(body), body, signal };
		this.parts.push(part);
		this.buffers.add(memoryOf(body));
		this.inFlight++;
		this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
		try {
			await this.answer(part);
			return `"etag-${partNumber}"`;
		} finally {
			part.unchangedAtSettle = part.bytes.equals(part.body);
			this.inFlight--;
			this.steps.push(`settled ${partNumber}`);
		}
	}

	async complete(uploadId: string, parts: CompletedPart[]) {
		expect(uploadId).toBe('upload-1');
		this.steps.push('complete');
		if (this.failures.complete) throw this.failures.complete;
		this.completed = parts;
	}

	async abort(uploadId: string) {
		this.steps.push('abort');
		this.aborted.push(uploadId);
		if (this.failures.abort) throw this.failures.abort;
	}

	/** The object as the store would assemble it from the completed parts. */
	assembled(): Buffer {
		const byNumber = new Map(this.parts.map((p) => [p.partNumber, p.bytes]));
		return Buffer.concat(this.completed!.map((p) => byNumber.get(p.PartNumber)!));
	}
}

const ids = new WeakMap<ArrayBufferLike, number>();
let nextId = 0;
/** Which memory a view starts at: the same for a buffer and any view of it from its start. */
function memoryOf(view: Uint8Array): string {
	if (!ids.has(view.buffer)) ids.set(view.buffer, nextId++);
	return `${ids.get(view.buffer)}:${view.byteOffset}`;
}

/** Deterministic bytes: byte i is a function of i, so any misplaced byte shows. */
function bytesOf(size: number, seed = 7): Buffer {
	const out = Buffer.alloc(size);
	for (let i = 0; i < size; i++) out[i] = (i * 31 + seed + (i >> 8)) & 0xff;
	return out;
}

/** `data` cut into chunks of the given sizes (cycled), each a fresh copy. */
async function* chunked(data: Buffer, sizes: number[] = [7]): AsyncGenerator<Uint8Array> {
	let offset = 0;
	for (let i = 0; offset < data.length; i++) {
		const size = sizes[i % sizes.length]!;
		yield new Uint8Array(data.subarray(offset, offset + size));
		offset += size;
	}
}

interface Gate {
	promise: Promise<void>;
	resolve(): void;
}

/** A promise that settles when the test says so. */
function gate(): Gate {
	let resolve!: () => void;
	const promise = new Promise<void>((res) => (resolve = res));
	return { promise, resolve };
}

/** Answers each part after a few turns of the event loop, so that parts overlap. */
const afterTicks = (ticks: number) => async () => {
	for (let i = 0; i < ticks; i++) await new Promise((resolve) => setImmediate(resolve));
};

/** Rejects like the SDK does when the request's abort signal fires. */
function cutBy(signal: AbortSignal): Promise<never> {
	return new Promise((_resolve, reject) => {
		const cut = () => reject(Object.assign(new Error('Request aborted'), { name: 'AbortError' }));
		if (signal.aborted) cut();
		signal.addEventListener('abort', cut, { once: true });
	});
}

describe('writeParts', () => {
	it('sends a body of at most one part with a single put, and an empty body too', async () => {
		for (const size of [0, 1, 15, 16]) {
			const data = bytesOf(size);
			const sink = new FakeSink();
			await writeParts(chunked(data, [5]), sink, { partSize: 16, concurrency: 2 });
			expect(sink.steps, `size ${size}`).toEqual(['put']);
			expect(sink.whole!.equals(data), `size ${size}`).toBe(true);
		}
		const sink = new FakeSink();
		await writeParts((async function* () {})(), sink, { partSize: 16, concurrency: 2 });
		expect(sink.steps).toEqual(['put']);
		expect(sink.whole!.length).toBe(0);
	});

	it('sends one byte more than a part as a full part and a one-byte part', async () => {
		const data = bytesOf(17);
		const sink = new FakeSink();
		await writeParts(chunked(data, [17]), sink, { partSize: 16, concurrency: 2 });
		expect(sink.steps).toEqual([
			'create',
			'part 1',
			'settled 1',
			'part 2',
			'settled 2',
			'complete'
		]);
		expect(sink.parts.map((p) => p.bytes.length)).toEqual([16, 1]);
		expect(sink.completed).toEqual([
			{ PartNumber: 1, ETag: '"etag-1"' },
			{ PartNumber: 2, ETag: '"etag-2"' }
		]);
		expect(sink.assembled().equals(data)).toBe(true);
	});

	it('never sends an empty last part when the body ends on a part boundary', async () => {
		const data = bytesOf(48);
		const sink = new FakeSink();
		await writeParts(chunked(data, [16]), sink, { partSize: 16, concurrency: 2 });
		expect(sink.parts.map((p) => p.bytes.length)).toEqual([16, 16, 16]);
		expect(sink.completed!.map((p) => p.PartNumber)).toEqual([1, 2, 3]);
		expect(sink.assembled().equals(data)).toBe(true);
	});

	it('sends the exact bytes from at most concurrency + 1 buffers, none reused in flight', async () => {
		await fc.assert(
			fc.asyncProperty(
				fc.integer({ min: 0, max: 400 }),
				fc.integer({ min: 1, max: 40 }),
				fc.integer({ min: 1, max: 3 }),
				fc.array(fc.integer({ min: 0, max: 90 }), { minLength: 1, maxLength: 8 }),
				fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 8 }),
				async (size, partSize, concurrency, chunkSizes, delays) => {
					const data = bytesOf(size, size);
					let answered = 0;
					const sink = new FakeSink(() => afterTicks(delays[answered++ % delays.length]!)());
					await writeParts(
						chunked(
							data,
							chunkSizes.map((n) => n + 1)
						),
						sink,
						{
							partSize,
							concurrency
						}
					);
					if (size <= partSize) {
						expect(sink.steps).toEqual(['put']);
						expect(sink.whole!.equals(data)).toBe(true);
						return;
					}
					const count = Math.ceil(size / partSize);
					expect(sink.parts.map((p) => p.partNumber).sort((a, b) => a - b)).toEqual(
						Array.from({ length: count }, (_, i) => i + 1)
					);
					for (const part of sink.parts) {
						const expected = part.partNumber < count ? partSize : size - (count - 1) * partSize;
						expect(part.bytes.length).toBe(expected);
						expect(part.unchangedAtSettle).toBe(true);
					}
					expect(sink.completed!.map((p) => p.PartNumber)).toEqual(
						Array.from({ length: count }, (_, i) => i + 1)
					);
					expect(sink.assembled().equals(data)).toBe(true);
					expect(sink.maxInFlight).toBeLessThanOrEqual(concurrency);
					expect(sink.buffers.size).toBeLessThanOrEqual(concurrency + 1);
					expect(sink.steps.at(-1)).toBe('complete');
					expect(sink.aborted).toEqual([]);
				}
			),
			{ numRuns: 300 }
		);
	});

	it('waits for a stored part before writing into its buffer again', async () => {
		// Parts are answered only when the test says so: the fourth part can only be filled
		// once a buffer is free, and it must be the buffer of a part that was answered.
		const gates: Gate[] = [];
		const sink = new FakeSink((part) => {
			const held = gate();
			gates[part.partNumber] = held;
			return held.promise;
		});
		const data = bytesOf(16 * 6);
		const done = writeParts(chunked(data, [16 * 6]), sink, { partSize: 16, concurrency: 2 });
		await afterTicks(5)();
		expect(sink.steps).toEqual(['create', 'part 1', 'part 2']);
		gates[2]!.resolve();
		await afterTicks(5)();
		expect(sink.steps).toEqual(['create', 'part 1', 'part 2', 'settled 2', 'part 3']);
		expect(memoryOf(sink.parts[2]!.body)).not.toBe(memoryOf(sink.parts[0]!.body));
		gates[3]!.resolve();
		await afterTicks(5)();
		// Part 4 went out of the buffer part 2 or 3 had: part 1's is still lent out.
		expect(memoryOf(sink.parts[3]!.body)).not.toBe(memoryOf(sink.parts[0]!.body));
		for (const n of [1, 4, 5, 6]) {
			await afterTicks(5)();
			gates[n]?.resolve();
		}
		await afterTicks(5)();
		for (const held of gates) held?.resolve();
		await done;
		expect(sink.buffers.size).toBe(3);
		expect(sink.parts.every((p) => p.unchangedAtSettle)).toBe(true);
		expect(sink.assembled().equals(data)).toBe(true);
	});

	it('aborts after the parts in flight have settled when the body fails, and keeps its error', async () => {
		const gates: Gate[] = [];
		const sink = new FakeSink((part) => {
			const held = gate();
			gates[part.partNumber] = held;
			return Promise.race([held.promise, cutBy(part.signal)]);
		});
		const failure = new Error('client went away');
		async function* body() {
			yield bytesOf(40);
			await afterTicks(3)();
			throw failure;
		}
		await expect(writeParts(body(), sink, { partSize: 16, concurrency: 2 })).rejects.toBe(failure);
		// Both parts in flight were cut, had settled before the abort, and nothing completed.
		expect(sink.parts.map((p) => p.signal.aborted)).toEqual([true, true]);
		expect(sink.steps).toEqual(['create', 'part 1', 'part 2', 'settled 1', 'settled 2', 'abort']);
		expect(sink.aborted).toEqual(['upload-1']);
		expect(sink.completed).toBeUndefined();
	});

	it('stops at once on the caller signal while waiting for a part, and aborts', async () => {
		const sink = new FakeSink((part) => cutBy(part.signal));
		const stop = new AbortController();
		const limit = Object.assign(new Error('too large'), { name: 'ObjectTooLargeError' });
		const done = writeParts(chunked(bytesOf(100), [100]), sink, {
			partSize: 16,
			concurrency: 2,
			signal: stop.signal
		});
		await afterTicks(5)();
		// Two parts held by the store, the third buffer full: the writer is waiting.
		expect(sink.steps).toEqual(['create', 'part 1', 'part 2']);
		stop.abort(limit);
		await expect(done).rejects.toBe(limit);
		expect(sink.steps).toEqual(['create', 'part 1', 'part 2', 'settled 1', 'settled 2', 'abort']);
	});

	it('fails with the first failed part, sends no part after it, and aborts', async () => {
		const refused = new Error('store refused part 3');
		const sink = new FakeSink(async (part) => {
			await afterTicks(2)();
			if (part.partNumber === 3) throw refused;
		});
		await expect(
			writeParts(chunked(bytesOf(16 * 20), [10]), sink, { partSize: 16, concurrency: 2 })
		).rejects.toBe(refused);
		// The parts already out settle, then the upload is aborted; the rest are never sent.
		expect(sink.parts.length).toBeLessThanOrEqual(5);
		expect(sink.steps.filter((s) => s.startsWith('settled '))).toHaveLength(sink.parts.length);
		expect(sink.steps.at(-1)).toBe('abort');
		expect(sink.aborted).toEqual(['upload-1']);
		expect(sink.completed).toBeUndefined();
	});

	it('fails without sending a part when the upload cannot be created', async () => {
		const refused = new Error('no multipart upload for you');
		const sink = new FakeSink(undefined, { create: refused });
		await expect(
			writeParts(chunked(bytesOf(100), [30]), sink, { partSize: 16, concurrency: 2 })
		).rejects.toBe(refused);
		expect(sink.steps).toEqual(['create']);
	});

	it('aborts when completing fails, and keeps the first error when aborting fails too', async () => {
		const refused = new Error('complete refused');
		const sink = new FakeSink(undefined, { complete: refused, abort: new Error('abort refused') });
		await expect(
			writeParts(chunked(bytesOf(40), [40]), sink, { partSize: 16, concurrency: 2 })
		).rejects.toBe(refused);
		expect(sink.steps.slice(-2)).toEqual(['complete', 'abort']);
	});

	it('refuses to go past the largest number of parts', async () => {
		const sink = new FakeSink();
		await expect(
			writeParts(chunked(bytesOf(16 * 4 + 1), [5]), sink, {
				partSize: 16,
				concurrency: 2,
				maxParts: 4
			})
		).rejects.toThrow('More than 4 parts');
		expect(sink.parts).toHaveLength(4);
		expect(sink.steps.at(-1)).toBe('abort');
		expect(sink.completed).toBeUndefined();
	});
});
