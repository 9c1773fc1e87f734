import {
	AbortMultipartUploadCommand,
	CompleteMultipartUploadCommand,
	CreateMultipartUploadCommand,
	DeleteObjectCommand,
	GetObjectCommand,
	HeadBucketCommand,
	HeadObjectCommand,
	ListObjectsV2Command,
	PutObjectCommand,
	S3Client,
	S3ServiceException,
	UploadPartCommand
} from '@aws-sdk/client-s3';
import { Readable, Transform } from 'node:stream';
import type { Config } from '../config';
import { MeasuringStream } from './hashing';
import { assertValidKey, assertValidListPrefix, newObjectKey } from './keys';
import { writeParts, type PartSink } from './multipart-upload';
import { resolveRange } from './range';
import {
	ObjectNotFoundError,
	ObjectStoreUnavailableError,
	ObjectTooLargeError,
	type ObjectStore
} from './types';

type S3Config = Extract<Config['storage'], { kind: 's3' }>;

/**
 * S3's smallest allowed part, 5 MiB: an upload holds three part buffers (two parts in flight,
 * the next one filling; see multipart-upload.ts), 15 MiB. With lib-storage, which made a new
 * buffer for every part, the 1 GiB upload benchmark's peak RSS growth was +54 and +81 MB with
 * 5 MiB parts against +109 and +110 MB with 8 MiB ones, at the same speed.
 */
export const S3_PART_SIZE = 5 * 1024 * 1024;
/** Parts sent at once by one upload (what lib-storage calls its queueSize). */
const PARTS_IN_FLIGHT = 2;
/** S3 allows at most 10,000 parts in one multipart upload. */
const MAX_PARTS = 10_000;

/**
 * The part size for an upload of at most `maxBytes`: 5 MiB, or larger when 10,000 parts of
 * 5 MiB would not hold it (5 MiB parts end at about 48 GiB; UPLOAD_MAX_BYTES goes to 1 TiB).
 */
export function partSizeFor(maxBytes: number | undefined): number {
	if (maxBytes === undefined) return S3_PART_SIZE;
	return Math.max(S3_PART_SIZE, Math.ceil(maxBytes / MAX_PARTS));
}

function isNotFound(error: unknown): boolean {
	return (
		error instanceof S3ServiceException && (error.name === 'NoSuchKey' || error.name === 'NotFound')
	);
}

/**
 * Callers only ever see the store's typed errors: anything that is not a missing object
 * (refused, reset, timed out, DNS, a 5xx, a missing bucket or rejected credentials) means the
 * store cannot serve the request, whatever the cause; the cause is kept for the log.
 */
function unavailable(error: unknown): ObjectStoreUnavailableError {
	if (error instanceof ObjectStoreUnavailableError) return error;
	const answered = error instanceof S3ServiceException;
	return new ObjectStoreUnavailableError(
		answered ? 'The object store refused the request' : 'The object store is not reachable',
		{ cause: error }
	);
}

/** The bytes a GET answered with: its Content-Range, or the whole object when it has none. */
function answeredRange(contentRange: string | undefined, size: number) {
	if (!contentRange) return { start: 0, end: size - 1 };
	const match = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(contentRange.trim());
	if (!match) return undefined;
	return { start: Number(match[1]), end: Number(match[2]) };
}

/**
 * Servers may answer a Range request with more than was asked (HTTP lets them ignore Range
 * altogether, and s3rver widens `bytes=0-0` to the whole object): cut the asked-for bytes out.
 */
function narrow(body: Readable, skip: number, take: number): Readable {
	let skipped = 0;
	let taken = 0;
	const out = new Transform({
		transform(chunk: Buffer, _encoding, callback) {
			if (taken >= take) return callback();
			let part = chunk;
			if (skipped < skip) {
				const drop = Math.min(skip - skipped, part.length);
				skipped += drop;
				part = part.subarray(drop);
			}
			if (part.length > 0 && taken < take) {
				const keep = part.subarray(0, take - taken);
				taken += keep.length;
				this.push(keep);
			}
			if (taken >= take) {
				this.push(null);
				body.unpipe(out);
				body.destroy();
			}
			callback();
		}
	});
	body.on('error', (error) => out.destroy(error));
	return body.pipe(out);
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
		maxAttempts: 2,
		// Without these a server that accepts the connection and never answers hangs the request
		// (and the upload or download waiting on it) forever. The request timeout runs until the
		// response headers arrive, so a slow download is not cut; an upload part must fit in it.
		requestHandler: {
			connectionTimeout: config.connectTimeoutMs,
			requestTimeout: config.requestTimeoutMs,
			throwOnRequestTimeout: true
		}
	});
	const Bucket = config.bucket;

	async function removeQuietly(Key: string): Promise<void> {
		await client.send(new DeleteObjectCommand({ Bucket, Key })).catch(() => {});
	}

	async function sizeOf(key: string): Promise<number> {
		try {
			const head = await client.send(new HeadObjectCommand({ Bucket, Key: key }));
			return Number(head.ContentLength ?? 0);
		} catch (error) {
			if (isNotFound(error)) throw new ObjectNotFoundError(key);
			throw unavailable(error);
		}
	}

	return {
		kind: 's3',

		async put(prefix, body, options = {}) {
			const Key = newObjectKey(prefix);
			const ContentType = options.contentType ?? 'application/octet-stream';
			const measure = new MeasuringStream(options.maxBytes, options.onProgress);
			const source = body instanceof Readable ? body : Readable.from(body);
			// The caller's stream failing (a client gone, a size limit) is recorded as it happens,
			// and stops the upload even while it waits for a part to be stored.
			const stop = new AbortController();
			let callerError: unknown;
			source.once('error', (error) => {
				callerError ??= error;
				measure.destroy(error);
			});
			// Only the limit is the caller's doing: the upload stopping its read of the body after
			// a failed request destroys the stream too (AbortError), and that is the store's fault.
			measure.once('error', (error) => {
				if (error instanceof ObjectTooLargeError) callerError ??= error;
				stop.abort(error);
			});
			source.pipe(measure);
			const sink: PartSink = {
				async putWhole(Body) {
					await client.send(new PutObjectCommand({ Bucket, Key, Body, ContentType }));
				},
				async create() {
					const created = await client.send(
						new CreateMultipartUploadCommand({ Bucket, Key, ContentType })
					);
					if (!created.UploadId) throw new Error('CreateMultipartUpload gave no upload id');
					return created.UploadId;
				},
				async uploadPart(UploadId, PartNumber, Body, abortSignal) {
					const part = await client.send(
						new UploadPartCommand({ Bucket, Key, UploadId, PartNumber, Body }),
						{ abortSignal }
					);
					if (!part.ETag) throw new Error(`UploadPart ${PartNumber} gave no ETag`);
					return part.ETag;
				},
				async complete(UploadId, Parts) {
					await client.send(
						new CompleteMultipartUploadCommand({
							Bucket,
							Key,
							UploadId,
							MultipartUpload: { Parts }
						})
					);
				},
				async abort(UploadId) {
					await client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId }));
				}
			};
			try {
				// writeParts aborts the multipart upload (its parts are dropped) before it rejects.
				await writeParts(measure, sink, {
					partSize: partSizeFor(options.maxBytes),
					concurrency: PARTS_IN_FLIGHT,
					signal: stop.signal
				});
			} catch (error) {
				source.unpipe(measure);
				source.destroy();
				measure.destroy();
				// The upload may have completed on the server with only the answer lost.
				if (callerError === undefined) await removeQuietly(Key);
				throw callerError ?? unavailable(error);
			}
			return { key: Key, size: measure.bytesSeen, sha256: measure.digest() };
		},

		async get(key, range) {
			assertValidKey(key);
			const size = await sizeOf(key);
			const bounds = range ? resolveRange(range, size) : undefined;
			try {
				const result = await client.send(
					new GetObjectCommand({
						Bucket,
						Key: key,
						Range: bounds ? `bytes=${bounds.start}-${bounds.end}` : undefined
					})
				);
				const body = result.Body;
				if (!(body instanceof Readable)) throw new Error('Unexpected S3 body type');
				if (!bounds) return { body, size };
				const answered = answeredRange(result.ContentRange, size);
				if (!answered || answered.start > bounds.start || answered.end < bounds.end) {
					body.destroy();
					throw new Error(`The object store answered ${result.ContentRange ?? 'the whole object'}`);
				}
				if (answered.start === bounds.start && answered.end === bounds.end) {
					return { body, size, range: bounds };
				}
				const take = bounds.end - bounds.start + 1;
				return { body: narrow(body, bounds.start - answered.start, take), size, range: bounds };
			} catch (error) {
				if (isNotFound(error)) throw new ObjectNotFoundError(key);
				throw unavailable(error);
			}
		},

		async head(key) {
			assertValidKey(key);
			return { key, size: await sizeOf(key) };
		},

		async delete(key) {
			assertValidKey(key);
			try {
				await client.send(new DeleteObjectCommand({ Bucket, Key: key }));
			} catch (error) {
				if (isNotFound(error)) return;
				throw unavailable(error);
			}
		},

		async *list(prefix) {
			assertValidListPrefix(prefix);
			let ContinuationToken: string | undefined;
			do {
				let page;
				try {
					page = await client.send(
						new ListObjectsV2Command({ Bucket, Prefix: prefix, ContinuationToken })
					);
				} catch (error) {
					throw unavailable(error);
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
