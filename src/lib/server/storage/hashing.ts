import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { ObjectTooLargeError } from './types';

/** Counts and hashes bytes as they pass, and stops the stream once it exceeds `maxBytes`. */
export class MeasuringStream extends Transform {
	readonly hash = createHash('sha256');
	size = 0;

	constructor(
		private readonly maxBytes = Number.POSITIVE_INFINITY,
		private readonly onProgress?: (bytes: number) => void
	) {
		super();
	}

	override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
		this.size += chunk.length;
		if (this.size > this.maxBytes) {
			callback(new ObjectTooLargeError(this.maxBytes));
			return;
		}
		this.hash.update(chunk);
		this.onProgress?.(this.size);
		callback(null, chunk);
	}

	digest(): string {
		return this.hash.digest('hex');
	}
}
