import {
	DeleteObjectCommand,
	GetObjectCommand,
	HeadBucketCommand,
	HeadObjectCommand,
	ListObjectsV2Command,
	S3Client,
	S3ServiceException
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Readable } from 'node:stream';
import type { Config } from '../config';
import { MeasuringStream } from './hashing';
import { assertValidKey, newObjectKey } from './keys';
import {
	InvalidRangeError,
	ObjectNotFoundError,
	ObjectStoreUnavailableError,
	ObjectTooLargeError,
	type ObjectStore
} from './types';

type S3Config = Extract<Config['storage'], { kind: 's3' }>;

function isNotFound(error: unknown): boolean {
	if (error instanceof S3ServiceException) {
		return (
			error.name === 'NoSuchKey' ||
			error.name === 'NotFound' ||
			error.$metadata?.httpStatusCode === 404
		);
	}
	return false;
}

/** Anything that is not an answer from the S3 server itself: refused, reset, timed out, DNS. */
function toUnavailable(error: unknown): unknown {
	if (error instanceof S3ServiceException) {
		const status = error.$metadata?.httpStatusCode ?? 0;
		if (status >= 500 || status === 0) {
			return new ObjectStoreUnavailableError('The object store answered with an error', {
				cause: error
			});
		}
		return error;
	}
	if (error instanceof ObjectTooLargeError || error instanceof ObjectNotFoundError) return error;
	return new ObjectStoreUnavailableError('The object store is not reachable', { cause: error });
}

export function createS3ObjectStore(config: S3Config): ObjectStore {
	const client = new S3Client({
		region: config.region,
		endpoint: config.endpoint,
		forcePathStyle: config.forcePathStyle,
		credentials: config.credentials,
		// Several S3-compatible servers reject the newer default checksum headers.
		requestChecksumCalculation: 'WHEN_REQUIRED',
		responseChecksumValidation: 'WHEN_REQUIRED',
		maxAttempts: 2
	});
	const Bucket = config.bucket;

	return {
		kind: 's3',

		async put(prefix, body, options = {}) {
			const key = newObjectKey(prefix);
			const measure = new MeasuringStream(options.maxBytes, options.onProgress);
			const source = body instanceof Readable ? body : Readable.from(body);
			source.on('error', (error) => measure.destroy(error));
			source.pipe(measure);
			const upload = new Upload({
				client,
				params: {
					Bucket,
					Key: key,
					Body: measure,
					ContentType: options.contentType ?? 'application/octet-stream'
				},
				queueSize: 2,
				partSize: 8 * 1024 * 1024,
				leavePartsOnError: false
			});
			let streamError: unknown;
			measure.on('error', (error) => {
				streamError = error;
				void upload.abort().catch(() => {});
			});
			try {
				await upload.done();
			} catch (error) {
				// A single-part upload may already have landed before the stream failed.
				await client.send(new DeleteObjectCommand({ Bucket, Key: key })).catch(() => {});
				throw toUnavailable(streamError ?? error);
			}
			if (streamError) {
				await client.send(new DeleteObjectCommand({ Bucket, Key: key })).catch(() => {});
				throw toUnavailable(streamError);
			}
			return { key, size: measure.size, sha256: measure.digest() };
		},

		async get(key, range) {
			assertValidKey(key);
			let size: number;
			try {
				const head = await client.send(new HeadObjectCommand({ Bucket, Key: key }));
				size = Number(head.ContentLength ?? 0);
			} catch (error) {
				if (isNotFound(error)) throw new ObjectNotFoundError(key);
				throw toUnavailable(error);
			}
			let Range: string | undefined;
			let returned: { start: number; end: number } | undefined;
			if (range) {
				const end = Math.min(range.end ?? size - 1, size - 1);
				if (range.start < 0 || range.start > end) throw new InvalidRangeError(size);
				Range = `bytes=${range.start}-${end}`;
				returned = { start: range.start, end };
			}
			try {
				const result = await client.send(new GetObjectCommand({ Bucket, Key: key, Range }));
				const body = result.Body;
				if (!(body instanceof Readable)) throw new Error('Unexpected S3 body type');
				return { body, size, range: returned };
			} catch (error) {
				if (isNotFound(error)) throw new ObjectNotFoundError(key);
				throw toUnavailable(error);
			}
		},

		async head(key) {
			assertValidKey(key);
			try {
				const head = await client.send(new HeadObjectCommand({ Bucket, Key: key }));
				return { key, size: Number(head.ContentLength ?? 0) };
			} catch (error) {
				if (isNotFound(error)) throw new ObjectNotFoundError(key);
				throw toUnavailable(error);
			}
		},

		async delete(key) {
			assertValidKey(key);
			try {
				await client.send(new DeleteObjectCommand({ Bucket, Key: key }));
			} catch (error) {
				if (isNotFound(error)) return;
				throw toUnavailable(error);
			}
		},

		async *list(prefix) {
			let ContinuationToken: string | undefined;
			do {
				let page;
				try {
					page = await client.send(
						new ListObjectsV2Command({ Bucket, Prefix: prefix, ContinuationToken })
					);
				} catch (error) {
					throw toUnavailable(error);
				}
				for (const item of page.Contents ?? []) {
					if (item.Key) yield { key: item.Key, size: Number(item.Size ?? 0) };
				}
				ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
			} while (ContinuationToken);
		},

		async ping() {
			try {
				await client.send(new HeadBucketCommand({ Bucket }));
			} catch (error) {
				throw new ObjectStoreUnavailableError('The object store bucket is not reachable', {
					cause: error
				});
			}
		}
	};
}
