import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MeasuringStream } from './hashing';
import { assertValidKey, newObjectKey } from './keys';
import {
	InvalidRangeError,
	ObjectNotFoundError,
	ObjectStoreUnavailableError,
	type ByteRange,
	type ObjectInfo,
	type ObjectStore
} from './types';

function isNotFound(error: unknown): boolean {
	return (error as NodeJS.ErrnoException)?.code === 'ENOENT';
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
		try {
			const info = await stat(fileFor(key));
			if (!info.isFile()) throw new ObjectNotFoundError(key);
			return info.size;
		} catch (error) {
			if (isNotFound(error)) throw new ObjectNotFoundError(key);
			throw error;
		}
	}

	return {
		kind: 'local',

		async put(prefix, body, options = {}) {
			const key = newObjectKey(prefix);
			const file = fileFor(key);
			await mkdir(path.dirname(file), { recursive: true });
			await mkdir(tmpDir, { recursive: true });
			const tmp = path.join(tmpDir, `${path.basename(file)}.part`);
			const measure = new MeasuringStream(options.maxBytes, options.onProgress);
			try {
				const source = body instanceof Readable ? body : Readable.from(body);
				await pipeline(source, measure, createWriteStream(tmp, { flags: 'wx', mode: 0o600 }));
				await rename(tmp, file);
			} catch (error) {
				await rm(tmp, { force: true });
				throw error;
			}
			return { key, size: measure.size, sha256: measure.digest() };
		},

		async get(key, range?: ByteRange) {
			const size = await sizeOf(key);
			if (!range) return { body: createReadStream(fileFor(key)), size };
			const end = Math.min(range.end ?? size - 1, size - 1);
			if (range.start < 0 || range.start > end) throw new InvalidRangeError(size);
			return {
				body: createReadStream(fileFor(key), { start: range.start, end }),
				size,
				range: { start: range.start, end }
			};
		},

		async head(key) {
			return { key, size: await sizeOf(key) };
		},

		async delete(key) {
			await rm(fileFor(key), { force: true });
		},

		async *list(prefix) {
			const walk = async function* (dir: string, relative: string): AsyncGenerator<ObjectInfo> {
				let entries;
				try {
					entries = await readdir(dir, { withFileTypes: true });
				} catch (error) {
					if (isNotFound(error)) return;
					throw error;
				}
				entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
				for (const entry of entries) {
					if (entry.name === '.tmp') continue;
					const childKey = relative ? `${relative}/${entry.name}` : entry.name;
					if (entry.isDirectory()) {
						if (prefix.startsWith(childKey + '/') || childKey.startsWith(prefix) || prefix === '') {
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
