import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MeasuringStream } from './hashing';
import { assertValidKey, assertValidListPrefix, newObjectKey } from './keys';
import { resolveRange } from './range';
import {
	ObjectNotFoundError,
	ObjectStoreUnavailableError,
	type ByteRange,
	type ObjectInfo,
	type ObjectStore
} from './types';

function isNotFound(error: unknown): boolean {
	return (error as NodeJS.ErrnoException)?.code === 'ENOENT';
}

/** A failing disk, a missing mount or a full volume: the store, not the object, is the problem. */
function unavailable(error: unknown): ObjectStoreUnavailableError {
	return new ObjectStoreUnavailableError('The object directory is not usable', { cause: error });
}

/** The embedded default: objects as files under one directory, written via a temp file. */
export function createLocalObjectStore(root: string): ObjectStore {
	const resolvedRoot = path.resolve(root);
	const fileFor = (key: string) => {
		assertValidKey(key);
		return path.join(resolvedRoot, ...key.split('/'));
	};
	const tmpDir = path.join(resolvedRoot, '.tmp');

	async function sizeOf(key: string): Promise<number> {
		const file = fileFor(key);
		let info;
		try {
			info = await stat(file);
		} catch (error) {
			if (isNotFound(error)) throw new ObjectNotFoundError(key);
			throw unavailable(error);
		}
		if (!info.isFile()) throw new ObjectNotFoundError(key);
		return info.size;
	}

	/** Opens the file before answering, so that a vanished file is a not-found, not a broken body. */
	async function open(key: string, start?: number, end?: number) {
		const body = createReadStream(fileFor(key), { start, end });
		await new Promise<void>((resolve, reject) => {
			body.once('open', () => resolve());
			body.once('error', reject);
		}).catch((error: unknown) => {
			body.destroy();
			if (isNotFound(error)) throw new ObjectNotFoundError(key);
			throw unavailable(error);
		});
		return body;
	}

	return {
		kind: 'local',

		async put(prefix, body, options = {}) {
			const key = newObjectKey(prefix);
			const file = fileFor(key);
			const tmp = path.join(tmpDir, `${path.basename(file)}.part`);
			try {
				await mkdir(tmpDir, { recursive: true });
			} catch (error) {
				throw unavailable(error);
			}
			const measure = new MeasuringStream(options.maxBytes, options.onProgress);
			const source = body instanceof Readable ? body : Readable.from(body);
			const out = createWriteStream(tmp, { flags: 'wx', mode: 0o600 });
			// pipeline() hands the first error to every stream, so the first one to fail is the cause:
			// the caller's stream (a client gone, a size limit) or the disk.
			let failure: { fromDisk: boolean; error: unknown } | undefined;
			source.once('error', (error) => (failure ??= { fromDisk: false, error }));
			measure.once('error', (error) => (failure ??= { fromDisk: false, error }));
			out.once('error', (error) => (failure ??= { fromDisk: true, error }));
			try {
				await pipeline(source, measure, out);
			} catch (error) {
				await rm(tmp, { force: true });
				if (failure?.fromDisk) throw unavailable(failure.error);
				throw failure?.error ?? error;
			}
			try {
				await mkdir(path.dirname(file), { recursive: true });
				await rename(tmp, file);
			} catch (error) {
				await rm(tmp, { force: true });
				throw unavailable(error);
			}
			return { key, size: measure.bytesSeen, sha256: measure.digest() };
		},

		async get(key, range?: ByteRange) {
			const size = await sizeOf(key);
			if (!range) return { body: await open(key), size };
			const bounds = resolveRange(range, size);
			return { body: await open(key, bounds.start, bounds.end), size, range: bounds };
		},

		async head(key) {
			return { key, size: await sizeOf(key) };
		},

		async delete(key) {
			const file = fileFor(key);
			try {
				await rm(file, { force: true });
			} catch (error) {
				throw unavailable(error);
			}
		},

		async *list(prefix) {
			assertValidListPrefix(prefix);
			const walk = async function* (dir: string, relative: string): AsyncGenerator<ObjectInfo> {
				let entries;
				try {
					entries = await readdir(dir, { withFileTypes: true });
				} catch (error) {
					if (isNotFound(error)) return;
					throw unavailable(error);
				}
				entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
				for (const entry of entries) {
					if (entry.name === '.tmp') continue;
					const childKey = relative ? `${relative}/${entry.name}` : entry.name;
					if (entry.isDirectory()) {
						if (prefix.startsWith(childKey + '/') || childKey.startsWith(prefix)) {
							yield* walk(path.join(dir, entry.name), childKey);
						}
					} else if (entry.isFile() && childKey.startsWith(prefix)) {
						yield { key: childKey, size: (await stat(path.join(dir, entry.name))).size };
					}
				}
			};
			yield* walk(resolvedRoot, '');
		},

		async ping() {
			try {
				await mkdir(resolvedRoot, { recursive: true });
				await stat(resolvedRoot);
			} catch (error) {
				throw new ObjectStoreUnavailableError('The object directory is not reachable', {
					cause: error
				});
			}
		}
	};
}
