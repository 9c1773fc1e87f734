import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { ReceiveError, receiveMultipart } from './multipart';

const BOUNDARY = '----jissboundary';
const enc = new TextEncoder();

function field(name: string, value: string): Uint8Array {
	return enc.encode(
		`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`
	);
}

function fileHead(name: string, fileName: string): Uint8Array {
	return enc.encode(
		`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"; filename="${fileName}"\r\n` +
			`Content-Type: application/octet-stream\r\n\r\n`
	);
}

const tail = enc.encode(`\r\n--${BOUNDARY}--\r\n`);

/** A request whose body is produced by `source`; `state.ended` tells whether it finished. */
function streamingRequest(
	source: () => AsyncGenerator<Uint8Array>,
	headers: Record<string, string> = {}
) {
	const state = { ended: false, pulled: 0 };
	const iterator = source();
	const body = new ReadableStream<Uint8Array>({
		async pull(controller) {
			const next = await iterator.next();
			if (next.done) {
				state.ended = true;
				controller.close();
			} else {
				state.pulled += next.value.byteLength;
				controller.enqueue(next.value);
			}
		}
	});
	const request = new Request('http://localhost/documents/upload', {
		method: 'POST',
		body,
		headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, ...headers },
		duplex: 'half'
	} as RequestInit);
	return { request, state };
}

async function collect(stream: AsyncIterable<unknown>): Promise<Buffer> {
	const parts: Buffer[] = [];
	for await (const chunk of stream) parts.push(chunk as Buffer);
	return Buffer.concat(parts);
}

describe('receiveMultipart', () => {
	it('keeps no chunk it has passed on, so memory stays flat however long the body', async () => {
		setFlagsFromString('--expose-gc');
		const gc = runInNewContext('gc') as () => void;
		const refs: WeakRef<Uint8Array>[] = [];
		let alive = -1;
		const { request } = streamingRequest(async function* () {
			yield field('title', 'long');
			yield fileHead('file', 'long.bin');
			for (let i = 0; i < 64; i++) {
				if (i === 60) {
					// Well before the body ends: the first 50 chunks were parsed and consumed long ago.
					gc();
					await new Promise((resolve) => setTimeout(resolve, 0));
					gc();
					alive = refs.slice(0, 50).filter((ref) => ref.deref() !== undefined).length;
				}
				const chunk = new Uint8Array(64 * 1024).fill(0x61);
				refs.push(new WeakRef(chunk));
				yield chunk;
			}
			yield tail;
		});
		const size = await receiveMultipart(request, {
			maxBytes: 1024 ** 3,
			idleTimeoutMs: 10_000,
			stopNow: () => true,
			async onFile(_fields, _name, file) {
				let n = 0;
				for await (const chunk of file) n += (chunk as Buffer).length;
				return n;
			}
		});
		expect(size).toBe(64 * 64 * 1024);
		expect(alive).toBe(0);
	});

	it('hands over the fields sent before the file, and the file as a stream, with UTF-8 names', async () => {
		const { request } = streamingRequest(async function* () {
			yield field('title', '宇宙');
			yield field('tags', 'a');
			yield field('tags', 'b');
			yield fileHead('file', '報告書.txt');
			yield enc.encode('hello ');
			yield enc.encode('world');
			yield tail;
		});
		const result = await receiveMultipart(request, {
			maxBytes: 1024,
			idleTimeoutMs: 60_000,
			stopNow: () => true,
			onFile: async (fields, fileName, file) => ({
				fields: Object.fromEntries(fields),
				fileName,
				text: (await collect(file)).toString('utf8')
			})
		});
		expect(result).toEqual({
			fields: { title: ['宇宙'], tags: ['a', 'b'] },
			fileName: '報告書.txt',
			text: 'hello world'
		});
	});

	it('refuses by Content-Length before reading anything', async () => {
		const { request, state } = streamingRequest(
			async function* () {
				for (;;) yield field('title', 'x');
			},
			{ 'content-length': String(10 * 1024 * 1024) }
		);
		const outcome = receiveMultipart(request, {
			maxBytes: 1024,
			idleTimeoutMs: 60_000,
			stopNow: () => true,
			onFile: async () => 'stored'
		});
		await expect(outcome).rejects.toMatchObject({ code: 'too_large' });
		// A ReadableStream fills its one-chunk queue by itself; nothing beyond that was read.
		expect(state.pulled).toBeLessThanOrEqual(field('title', 'x').byteLength);
	});

	it('stops with too_large while a body that never ends is still being sent', async () => {
		const { request, state } = streamingRequest(async function* () {
			yield field('title', 'x');
			yield fileHead('file', 'big.txt');
			// Never ends: only the limit can stop this.
			for (;;) yield new Uint8Array(64 * 1024).fill(0x61);
		});
		const outcome = receiveMultipart(request, {
			maxBytes: 1024 * 1024,
			idleTimeoutMs: 60_000,
			stopNow: () => true,
			onFile: async (_fields, _name, file) => {
				let size = 0;
				for await (const chunk of file) {
					size += (chunk as Buffer).length;
					if (size > 1024 * 1024) throw new ReceiveError('too_large');
				}
				return size;
			}
		});
		await expect(outcome).rejects.toMatchObject({ code: 'too_large' });
		expect(state.ended).toBe(false);
		expect(state.pulled).toBeLessThan(4 * 1024 * 1024);
	});

	it('applies its own byte limit even when the file handler does not', async () => {
		const { request, state } = streamingRequest(async function* () {
			yield fileHead('file', 'big.txt');
			for (;;) yield new Uint8Array(64 * 1024);
		});
		const outcome = receiveMultipart(request, {
			maxBytes: 64 * 1024,
			idleTimeoutMs: 60_000,
			stopNow: () => true,
			onFile: (_fields, _name, file) => collect(file)
		});
		await expect(outcome).rejects.toMatchObject({ code: 'too_large' });
		expect(state.ended).toBe(false);
	});

	it('reads and discards the rest after a refusal that lets the browser see the answer', async () => {
		const { request, state } = streamingRequest(async function* () {
			yield fileHead('file', 'a.exe');
			for (let i = 0; i < 10; i++) yield new Uint8Array(1024);
			yield tail;
		});
		const refused = new Error('type refused');
		const outcome = receiveMultipart(request, {
			maxBytes: 1024 * 1024,
			idleTimeoutMs: 60_000,
			stopNow: () => false,
			onFile: async (_fields, _name, file) => {
				file.resume();
				throw refused;
			}
		});
		await expect(outcome).rejects.toBe(refused);
		expect(state.ended).toBe(true);
	});

	it.each([
		[
			'no file part',
			async function* () {
				yield field('title', 'x');
				yield enc.encode(`--${BOUNDARY}--\r\n`);
			},
			'no_file'
		],
		[
			'a file part under another name',
			async function* () {
				yield fileHead('other', 'a.txt');
				yield enc.encode('x');
				yield tail;
			},
			'invalid'
		],
		[
			'a field over 16 KiB',
			async function* () {
				yield field('summary', 'x'.repeat(20_000));
				yield fileHead('file', 'a.txt');
				yield enc.encode('x');
				yield tail;
			},
			'invalid'
		],
		[
			'a body cut short',
			async function* () {
				yield fileHead('file', 'a.txt');
				yield enc.encode('x');
			},
			'invalid'
		]
	])('refuses %s', async (_label, source, code) => {
		const { request } = streamingRequest(source);
		await expect(
			receiveMultipart(request, {
				maxBytes: 1024 * 1024,
				idleTimeoutMs: 60_000,
				stopNow: () => false,
				onFile: (_fields, _name, file) => collect(file)
			})
		).rejects.toMatchObject({ code });
	});

	it('never starts the file after a refusal, even when its part came in the same chunk', async () => {
		// One write holding an oversized field, then a file part that busboy still announces.
		for (const size of [5, 3 * 1024 * 1024]) {
			const { request, state } = streamingRequest(async function* () {
				yield new Uint8Array(
					Buffer.concat([
						field('title', 'x'),
						field('summary', 'x'.repeat(17_000)),
						fileHead('file', 'a.txt'),
						new Uint8Array(size).fill(0x61),
						tail
					])
				);
			});
			let started = false;
			const outcome = receiveMultipart(request, {
				maxBytes: 16 * 1024 * 1024,
				idleTimeoutMs: 60_000,
				stopNow: () => false,
				onFile: async (_fields, _name, file) => {
					started = true;
					return collect(file);
				}
			});
			await expect(outcome).rejects.toMatchObject({ code: 'invalid' });
			expect(started, `${size} bytes`).toBe(false);
			expect(state.ended).toBe(true);
		}
	});

	it('reads nothing after the file part: a second file or an oversized field changes nothing', async () => {
		for (const after of [
			Buffer.concat([fileHead('file', 'b.txt'), enc.encode('second')]),
			Buffer.concat([fileHead('other', 'c.txt'), enc.encode('other')]),
			field('summary', 'x'.repeat(17_000)),
			// A malformed part after the file: a parse error, once the file is complete.
			enc.encode(`--${BOUNDARY}\r\nno colon in this header\r\n\r\nx\r\n`)
		]) {
			const { request, state } = streamingRequest(async function* () {
				yield field('title', 'x');
				yield new Uint8Array(
					Buffer.concat([fileHead('file', 'a.txt'), enc.encode('first'), enc.encode('\r\n')])
				);
				yield new Uint8Array(after);
				yield tail;
			});
			const received = await receiveMultipart(request, {
				maxBytes: 1024 * 1024,
				idleTimeoutMs: 60_000,
				stopNow: () => false,
				onFile: async (fields, name, file) => ({ fields, name, body: await collect(file) })
			});
			expect(received.name).toBe('a.txt');
			expect(received.body.toString()).toBe('first');
			expect(received.fields.get('summary')).toBeUndefined();
			expect(state.ended).toBe(true);
		}
	});

	it('reports a client that goes away mid-body as interrupted', async () => {
		const { request } = streamingRequest(async function* () {
			yield fileHead('file', 'a.txt');
			yield enc.encode('partial');
			throw new Error('socket hang up');
		});
		await expect(
			receiveMultipart(request, {
				maxBytes: 1024 * 1024,
				idleTimeoutMs: 60_000,
				stopNow: () => true,
				onFile: (_fields, _name, file) => collect(file)
			})
		).rejects.toMatchObject({ code: 'interrupted' });
	});

	it('gives up on a body that sends some bytes and then nothing, failing the file stream too', async () => {
		const { request } = streamingRequest(async function* () {
			yield field('title', 'x');
			yield fileHead('file', 'a.txt');
			yield enc.encode('partial');
			// Stalls forever: only the idle timeout can end this.
			await new Promise(() => {});
		});
		let fileOutcome: unknown = 'not reached';
		await expect(
			receiveMultipart(request, {
				maxBytes: 1024 * 1024,
				idleTimeoutMs: 200,
				stopNow: () => true,
				onFile: async (_fields, _name, file) => {
					try {
						return await collect(file);
					} catch (error) {
						fileOutcome = error;
						throw error;
					}
				}
			})
		).rejects.toMatchObject({ code: 'idle_timeout' });
		// The file's reader saw a failure, not a clean (truncated) end it could store.
		expect(fileOutcome).toBeInstanceOf(Error);
	});

	it('refuses anything but multipart/form-data', async () => {
		const request = new Request('http://localhost/', { method: 'POST', body: 'x' });
		await expect(
			receiveMultipart(request, {
				maxBytes: 10,
				idleTimeoutMs: 60_000,
				stopNow: () => true,
				onFile: async () => 1
			})
		).rejects.toMatchObject({ code: 'unsupported_media_type' });
	});
});
