import type { Readable } from 'node:stream';

/** Object keys are made by the server only (see `newObjectKey`), never from user input. */
export const OBJECT_PREFIXES = ['versions', 'checkpoints', 'health'] as const;
export type ObjectPrefix = (typeof OBJECT_PREFIXES)[number];

export interface PutResult {
	key: string;
	size: number;
	/** Lower-case hex SHA-256 of the bytes, computed while streaming. */
	sha256: string;
}

/**
 * Bytes of an object, as in an HTTP Range header: `{ start, end }` (inclusive; `end` omitted or
 * past the object means to the end) or `{ suffix }` for the last `suffix` bytes.
 */
export type ByteRange = { start: number; end?: number } | { suffix: number };

export interface GetResult {
	body: Readable;
	/** Size of the whole object. */
	size: number;
	/** The bytes actually returned, inclusive, when a range was asked for. */
	range?: { start: number; end: number };
}

export interface ObjectInfo {
	key: string;
	size: number;
}

export interface PutOptions {
	contentType?: string;
	/** Stop and fail with ObjectTooLargeError as soon as more bytes than this arrive. */
	maxBytes?: number;
	/** Called with the running byte count, for progress and limits. */
	onProgress?: (bytes: number) => void;
}

export interface ObjectStore {
	readonly kind: 'local' | 's3';
	/** Streams the body into a new object under a server-generated key with this prefix. */
	put(
		prefix: ObjectPrefix,
		body: Readable | AsyncIterable<Uint8Array>,
		options?: PutOptions
	): Promise<PutResult>;
	/** A range that selects no byte of the object fails with InvalidRangeError. */
	get(key: string, range?: ByteRange): Promise<GetResult>;
	head(key: string): Promise<ObjectInfo>;
	delete(key: string): Promise<void>;
	/** Every object whose key starts with `prefix`, in key order, across as many pages as needed. */
	list(prefix: string): AsyncIterable<ObjectInfo>;
	/** Cheap reachability check for /readyz. */
	ping(): Promise<void>;
}

export class ObjectNotFoundError extends Error {
	constructor(readonly key: string) {
		super(`No object with key ${key}`);
		this.name = 'ObjectNotFoundError';
	}
}

export class ObjectStoreUnavailableError extends Error {
	constructor(message: string, options?: { cause?: unknown }) {
		super(message, options);
		this.name = 'ObjectStoreUnavailableError';
	}
}

export class ObjectTooLargeError extends Error {
	constructor(readonly maxBytes: number) {
		super(`The object is larger than ${maxBytes} bytes`);
		this.name = 'ObjectTooLargeError';
	}
}

export class InvalidRangeError extends Error {
	constructor(readonly size: number) {
		super(`The range is not satisfiable for an object of ${size} bytes`);
		this.name = 'InvalidRangeError';
	}
}

/** A key or prefix that the server did not make: refused before it reaches a path or a URL. */
export class InvalidObjectKeyError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'InvalidObjectKeyError';
	}
}
