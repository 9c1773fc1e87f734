/**
 * A streamed multipart upload whose memory is fixed in advance: the S3 adapter's put (s3.ts).
 *
 * Why not `@aws-sdk/lib-storage`'s `Upload`, which the stack names for streamed multipart
 * uploads: it builds every part as a new Buffer (`Buffer.concat` of the chunks that came in), so
 * a 1 GiB upload allocates about 205 buffers of 5 MiB outside the JavaScript heap, each alive
 * for as long as its part is being sent: long enough to outlive the young generation, so that
 * only a full collection frees it, whenever V8 gets round to one. The upload benchmark's peak
 * RSS growth varied from +52 to +105 MB with that timing. No way of feeding Upload avoids it:
 * whatever is left over after one part is concatenated with the next chunk to make the next
 * part, and a part cut out of a larger chunk gives no sign of when that chunk is free again.
 *
 * Here the bytes are copied into at most `concurrency + 1` part-sized buffers, allocated once
 * per upload and written again only after the part sent from them has been stored: a 1 GiB
 * upload holds three buffers of 5 MiB from start to end and allocates no other part memory.
 * (Side by side in a bare upload server, 1 GiB: +58 to +69 MB of peak RSS growth against +90
 * to +96 MB with Upload.) A body of at most one part is sent with one PutObject, as Upload
 * does, and takes no part buffer at all.
 */

/** A part S3 has stored, as CompleteMultipartUpload wants it. */
export interface CompletedPart {
	PartNumber: number;
	ETag: string;
}

/** The object-store calls a streamed upload makes, each for the one object being written. */
export interface PartSink {
	/** The whole body, when it fits in one part: a single PutObject. */
	putWhole(body: Buffer): Promise<void>;
	/** CreateMultipartUpload; answers the upload id. */
	create(): Promise<string>;
	/**
	 * UploadPart; answers the part's ETag. `body` is lent: it must not be kept once the promise
	 * settles, and it is not written again before then. `signal` cuts the request short when the
	 * upload has failed elsewhere.
	 */
	uploadPart(
		uploadId: string,
		partNumber: number,
		body: Buffer,
		signal: AbortSignal
	): Promise<string>;
	/** CompleteMultipartUpload with every part, in part-number order. */
	complete(uploadId: string, parts: CompletedPart[]): Promise<void>;
	/** AbortMultipartUpload: the server drops the parts it holds. */
	abort(uploadId: string): Promise<void>;
}

export interface WritePartsOptions {
	/** Bytes per part; every part but the last has exactly this many. */
	partSize: number;
	/** Parts sent at once (lib-storage's `queueSize`). */
	concurrency: number;
	/** S3 allows at most 10,000 parts in one upload. */
	maxParts?: number;
	/**
	 * The caller's own failure (the body's stream failing, a size limit passed): stops the
	 * upload even while it waits for a part to be stored, and `writeParts` rejects with its reason.
	 */
	signal?: AbortSignal;
}

/**
 * Streams `source` into one object through `sink`. On any failure (the source's, the caller's
 * signal, a request's) the parts in flight are cut short and waited for, the multipart upload
 * is aborted (best effort: the server may not answer), and the first failure is thrown.
 */
export async function writeParts(
	source: AsyncIterable<Uint8Array>,
	sink: PartSink,
	options: WritePartsOptions
): Promise<void> {
	const { partSize, concurrency, maxParts = 10_000, signal } = options;
	if (!Number.isSafeInteger(partSize) || partSize < 1) throw new RangeError('Invalid part size');
	if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
		throw new RangeError('Invalid concurrency');
	}
	// Until the body has proved larger than one part, its chunks are kept as they came: a small
	// body costs no part buffer.
	const held: Uint8Array[] = [];
	let heldBytes = 0;
	let writer: PartWriter | undefined;
	// Read by hand rather than with for-await: leaving a for-await loop destroys a stream
	// source at once, and its AbortError could then overtake the failure that stopped the loop.
	const chunks = source[Symbol.asyncIterator]();
	try {
		for (;;) {
			const next = await chunks.next();
			signal?.throwIfAborted();
			if (next.done) break;
			const chunk = next.value;
			if (chunk.length === 0) continue;
			if (!writer) {
				if (heldBytes + chunk.length <= partSize) {
					held.push(chunk);
					heldBytes += chunk.length;
					continue;
				}
				writer = new PartWriter(sink, partSize, concurrency, maxParts, signal);
				for (const earlier of held) await writer.write(earlier);
				held.length = 0;
			}
			await writer.write(chunk);
		}
		if (writer) {
			await writer.finish();
		} else {
			const body = held.length === 1 ? held[0]! : Buffer.concat(held, heldBytes);
			await sink.putWhole(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
		}
	} catch (error) {
		const first = writer ? await writer.abandon(error) : error;
		await chunks.return?.().catch(() => {});
		throw first;
	}
}

/** The multipart half of `writeParts`: a fixed set of part buffers and the parts in flight. */
class PartWriter {
	readonly #free: Buffer[] = [];
	#allocated = 0;
	/** The buffer being filled, and how many of its bytes are filled. */
	#current: Buffer | undefined;
	#filled = 0;
	#nextPart = 1;
	readonly #done: CompletedPart[] = [];
	readonly #inFlight = new Set<Promise<void>>();
	/** Cuts the part requests in flight once the upload has failed. */
	readonly #cut = new AbortController();
	#failure: { error: unknown } | undefined;
	/** Wakes the one waiter (the writing loop) when a part settles or the upload fails. */
	#wake: (() => void) | undefined;
	readonly #created: Promise<string>;

	constructor(
		private readonly sink: PartSink,
		private readonly partSize: number,
		private readonly concurrency: number,
		private readonly maxParts: number,
		private readonly signal: AbortSignal | undefined
	) {
		this.#created = sink.create();
		// Parts wait for it; a failure here is the upload's failure (and is not left unhandled).
		this.#created.catch((error: unknown) => this.#fail(error));
		signal?.addEventListener('abort', this.#onAbort, { once: true });
	}

	readonly #onAbort = () => this.#fail(this.signal!.reason);

	#fail(error: unknown): void {
		this.#failure ??= { error };
		this.#cut.abort();
		this.#wake?.();
	}

	#throwIfFailed(): void {
		if (this.#failure) throw this.#failure.error;
	}

	/** Resolves once a part settles or the upload fails (whichever comes first). */
	#settled(): Promise<void> {
		return new Promise((resolve) => {
			this.#wake = () => {
				this.#wake = undefined;
				resolve();
			};
		});
	}

	async write(chunk: Uint8Array): Promise<void> {
		let offset = 0;
		while (offset < chunk.length) {
			// A full buffer is sent only once more bytes come, so the last part is never empty.
			if (this.#current && this.#filled === this.partSize) await this.#send();
			if (!this.#current) {
				this.#current = this.#take();
				this.#filled = 0;
			}
			const count = Math.min(this.partSize - this.#filled, chunk.length - offset);
			this.#current.set(chunk.subarray(offset, offset + count), this.#filled);
			this.#filled += count;
			offset += count;
		}
	}

	async finish(): Promise<void> {
		if (this.#current && this.#filled > 0) await this.#send();
		while (this.#inFlight.size > 0) {
			this.#throwIfFailed();
			await this.#settled();
		}
		this.#throwIfFailed();
		const uploadId = await this.#created;
		const parts = [...this.#done].sort((a, b) => a.PartNumber - b.PartNumber);
		await this.sink.complete(uploadId, parts);
		this.signal?.removeEventListener('abort', this.#onAbort);
	}

	/**
	 * After a failure: cuts the parts in flight, waits until no request still holds a buffer or
	 * can still store a part, aborts the multipart upload, and answers the first failure.
	 */
	async abandon(error: unknown): Promise<unknown> {
		this.#fail(error);
		this.signal?.removeEventListener('abort', this.#onAbort);
		await Promise.all(this.#inFlight);
		const uploadId = await this.#created.catch(() => undefined);
		if (uploadId !== undefined) await this.sink.abort(uploadId).catch(() => {});
		return this.#failure!.error;
	}

	/** A free buffer: one whose part has been stored, or a new one while there are few enough. */
	#take(): Buffer {
		const reused = this.#free.pop();
		if (reused) return reused;
		if (this.#allocated > this.concurrency) {
			// Unreachable: #send waits for a free slot first, so at most `concurrency` are in flight.
			throw new Error('No free part buffer');
		}
		this.#allocated++;
		// Uninitialised memory is fine: only the bytes written since it was taken are ever sent.
		return Buffer.allocUnsafe(this.partSize);
	}

	/** Sends the current buffer as the next part, after waiting for a free place in the queue. */
	async #send(): Promise<void> {
		while (this.#inFlight.size >= this.concurrency) {
			this.#throwIfFailed();
			await this.#settled();
		}
		this.#throwIfFailed();
		const buffer = this.#current!;
		const body = buffer.subarray(0, this.#filled);
		this.#current = undefined;
		this.#filled = 0;
		const partNumber = this.#nextPart++;
		if (partNumber > this.maxParts) {
			throw new Error(`More than ${this.maxParts} parts in one multipart upload`);
		}
		const task = this.#upload(partNumber, buffer, body).then(
			() => {},
			(error: unknown) => this.#fail(error)
		);
		const tracked = task.finally(() => {
			this.#inFlight.delete(tracked);
			this.#wake?.();
		});
		this.#inFlight.add(tracked);
	}

	async #upload(partNumber: number, buffer: Buffer, body: Buffer): Promise<void> {
		const uploadId = await this.#created;
		this.#throwIfFailed();
		const ETag = await this.sink.uploadPart(uploadId, partNumber, body, this.#cut.signal);
		this.#done.push({ PartNumber: partNumber, ETag });
		// Stored: the buffer may be filled again. A failed part's buffer is never reused, since
		// a request that was cut may still be reading it.
		this.#free.push(buffer);
	}
}
