import busboy from 'busboy';
import type { Readable } from 'node:stream';

/**
 * Reads a multipart/form-data request as a stream: metadata fields first, then ONE file part
 * named `file`, which is handed over as a Node stream and never held in memory. The request
 * body is pulled by our own loop, so that a refusal can stop reading at once (413 before the
 * body ends) without cancelling the body, which would destroy the socket before the answer
 * is written.
 */

export type Fields = Map<string, string[]>;

export type ReceiveFailure =
	'too_large' | 'invalid' | 'no_file' | 'interrupted' | 'idle_timeout' | 'unsupported_media_type';

export class ReceiveError extends Error {
	constructor(
		readonly code: ReceiveFailure,
		options?: { cause?: unknown }
	) {
		super(`Upload refused: ${code}`, options);
		this.name = 'ReceiveError';
	}
}

/** Room for the metadata fields and multipart framing on top of the file's own limit. */
export const METADATA_ALLOWANCE = 256 * 1024;

const IDLE = Symbol('idle');
const WOKEN = Symbol('woken');

export interface ReceiveOptions<T> {
	maxBytes: number;
	/**
	 * A body that sends nothing for this long is given up on: a client that stalls forever
	 * would otherwise hold its stored object, its pending row and a connection for good.
	 */
	idleTimeoutMs: number;
	/**
	 * Called with the fields sent before the file, its name, and its byte stream. Must consume
	 * the stream (or throw). Whatever it throws decides the answer: `stopNow(error)` tells
	 * whether to stop reading the request at once (too large, interrupted) or to read and
	 * discard the rest so that a browser gets to see the answer.
	 */
	onFile(fields: Fields, fileName: string, file: Readable): Promise<T>;
	stopNow(error: unknown): boolean;
}

export async function receiveMultipart<T>(
	request: Request,
	options: ReceiveOptions<T>
): Promise<T> {
	const contentType = request.headers.get('content-type') ?? '';
	if (!/^multipart\/form-data;/i.test(contentType) || !request.body) {
		throw new ReceiveError('unsupported_media_type');
	}
	const declared = Number(request.headers.get('content-length'));
	if (Number.isFinite(declared) && declared > options.maxBytes + METADATA_ALLOWANCE) {
		throw new ReceiveError('too_large');
	}

	const parser = busboy({
		headers: { 'content-type': contentType },
		// Browsers send UTF-8 file names; busboy's default would read them as Latin-1.
		defParamCharset: 'utf8',
		limits: { fieldNameSize: 100, fieldSize: 16 * 1024, fields: 60, files: 1, parts: 61 }
	});

	let failure: unknown = null;
	// An object, not a local: TypeScript would narrow a local that only callbacks change.
	const state: { mode: 'parse' | 'discard' | 'stop' } = { mode: 'parse' };
	// Waits register here rather than racing a shared "decided" promise: every Promise.race on a
	// promise that stays pending for the whole request adds a reaction to it, and each reaction
	// keeps that race's result (a chunk of the body) alive: a 1 GiB upload stayed in memory.
	const wakers = new Set<() => void>();
	const decide = (error: unknown) => {
		if (failure !== null) return;
		failure = error;
		state.mode = options.stopNow(error) ? 'stop' : 'discard';
		for (const waker of [...wakers]) waker();
	};
	/** `promise`'s value, or `WOKEN` when a decision comes first, or `IDLE` after `idleMs`. */
	const until = <V>(promise: Promise<V>, idleMs?: number) =>
		new Promise<V | typeof WOKEN | typeof IDLE>((resolve, reject) => {
			let timer: ReturnType<typeof setTimeout> | undefined;
			const settle = () => {
				clearTimeout(timer);
				wakers.delete(waker);
			};
			const waker = () => {
				settle();
				resolve(WOKEN);
			};
			wakers.add(waker);
			if (idleMs !== undefined) {
				timer = setTimeout(() => {
					settle();
					resolve(IDLE);
				}, idleMs);
			}
			promise.then(
				(value) => {
					settle();
					resolve(value);
				},
				(error: unknown) => {
					settle();
					reject(error);
				}
			);
		});

	// Once the file part has begun, the rest of the body is read and discarded unseen: a second
	// file, another field or a limit reached after it neither changes nor refuses the upload
	// (its handler already has the fields). And a file part that follows a refusal (busboy may
	// announce it from the same chunk) is never started: its stream would not be fed again.
	const fields: Fields = new Map();
	let fileTask: Promise<T> | null = null;
	parser.on('field', (name, value, info) => {
		if (fileTask) return;
		if (info.nameTruncated || info.valueTruncated) {
			decide(new ReceiveError('invalid'));
			return;
		}
		fields.set(name, [...(fields.get(name) ?? []), value]);
	});
	parser.on('file', (name, stream, info) => {
		if (fileTask || failure !== null) {
			stream.resume();
			return;
		}
		if (name !== 'file') {
			stream.resume();
			decide(new ReceiveError('invalid'));
			return;
		}
		// The reader of the stream learns of its failure through its own pipeline; without a
		// listener here a failure before the reader attaches would be an uncaught exception.
		stream.on('error', () => {});
		fileTask = options.onFile(fields, info.filename ?? '', stream);
		fileTask.catch((error: unknown) => {
			stream.resume();
			decide(error);
		});
	});
	for (const limit of ['partsLimit', 'filesLimit', 'fieldsLimit'] as const) {
		parser.on(limit, () => {
			if (!fileTask) decide(new ReceiveError('invalid'));
		});
	}
	const parsed = new Promise<void>((resolve) => {
		parser.on('close', resolve);
		parser.on('error', (error) => {
			decide(new ReceiveError('invalid', { cause: error }));
			resolve();
		});
	});

	const reader = request.body.getReader();
	let total = 0;
	// Kept across a wake-up, so that a chunk read while a refusal was decided is not lost.
	let reading: ReturnType<typeof reader.read> | null = null;
	try {
		for (;;) {
			if (state.mode === 'stop') break;
			reading ??= reader.read();
			const next = await until(reading, options.idleTimeoutMs);
			if (next === IDLE) {
				const stalled = new ReceiveError('idle_timeout');
				parser.destroy(stalled);
				// A refusal decided earlier (while the rest was being discarded) stays the answer.
				decide(stalled);
				break;
			}
			if (next === WOKEN) continue;
			reading = null;
			if (next.done) {
				if (state.mode === 'parse') parser.end();
				break;
			}
			total += next.value.byteLength;
			if (total > options.maxBytes + METADATA_ALLOWANCE) {
				const tooLarge = new ReceiveError('too_large');
				parser.destroy(tooLarge);
				decide(tooLarge);
				// A refusal decided earlier gave way to this one: the size is what the client must hear.
				failure = tooLarge;
				break;
			}
			if (state.mode !== 'parse') continue;
			if (!parser.write(next.value)) {
				await until(new Promise((resolve) => parser.once('drain', resolve)));
			}
		}
	} catch (error) {
		// The client went away or the connection broke: nothing more will come.
		const interrupted = new ReceiveError('interrupted', { cause: error });
		parser.destroy(interrupted);
		decide(interrupted);
	} finally {
		// Never cancel: cancelling destroys the socket before the refusal can be written.
		reader.releaseLock();
	}

	if (failure === null) {
		await until(parsed);
	}
	if (failure === null && !fileTask) decide(new ReceiveError('no_file'));
	if (!fileTask) throw failure;
	// The upload stands or falls with its file. A refusal decided while the file part was still
	// arriving failed the file's stream, and so its handler (which cleans up after itself: wait
	// for it, so that nothing outlives the request); one decided after the file had ended, by
	// something later in the body, does not undo an upload that was complete.
	const settled = await (fileTask as Promise<T>).then(
		(value) => ({ ok: true as const, value }),
		(error: unknown) => ({ ok: false as const, error })
	);
	if (settled.ok) return settled.value;
	throw failure ?? settled.error;
}
