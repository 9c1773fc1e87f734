import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { ObjectTooLargeError } from './types';

/**
 * Counts and hashes bytes as they pass, and stops the stream once it exceeds `maxBytes`.
 * The count is deliberately not called `size`, `length` or `byteLength`: lib-storage (which
 * the S3 adapter used before multipart-upload.ts) reads those from its Body to predict the
 * number of multipart parts, and a running count of 0 at construction made every multipart
 * upload fail with "Expected 0 part(s)".
 */
export class MeasuringStream extends Transform {
	readonly #hash = createHash('sha256');
	#bytes = 0;

	constructor(
		private readonly maxBytes = Number.POSITIVE_INFINITY,
		private readonly onProgress?: (bytes: number) => void
	) {
		super();
	}

	get bytesSeen(): number {
		return this.#bytes;
	}

	override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
		this.#bytes += chunk.length;
		if (this.#bytes > this.maxBytes) {
			callback(new ObjectTooLargeError(this.maxBytes));
			return;
		}
		this.#hash.update(chunk);
		this.onProgress?.(this.#bytes);
		callback(null, chunk);
	}

	digest(): string {
		return this.#hash.digest('hex');
	}
}
