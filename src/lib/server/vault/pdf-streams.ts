import { createInflate } from 'node:zlib';

/**
 * What a PDF's compressed streams would decode to, counted before pdf.js or pdf-lib opens it.
 * A Flate stream can expand a thousandfold: half a megabyte of upload became half a gigabyte
 * in pdf.js (search text) or pdf-lib (watermarks, which decode object streams as they load),
 * and neither can be told to stop. Here each stream that library would decode is inflated once
 * and only counted, nothing kept; past the budget the PDF is not opened at all.
 *
 * Streams are found as PDF readers find them: the `stream` keyword after an object's
 * dictionary, then `/Length` bytes if `endstream` follows them, or else up to the next
 * `endstream`. A stream whose filters cannot be counted here (LZW, run-length, a chain) is
 * refused too, as is an encrypted PDF for text (its streams cannot be inflated unread).
 */

export type ExpansionRefusal = 'too_large' | 'filter' | 'encrypted';

export class PdfExpansionError extends Error {
	constructor(
		readonly reason: ExpansionRefusal,
		readonly decodedBytes: number
	) {
		super(`The PDF is not opened: ${reason}`);
		this.name = 'PdfExpansionError';
	}
}

/**
 * Which streams the reader that follows decodes: `structure` for pdf-lib (object and
 * cross-reference streams, read as it loads a file), `text` for pdf.js's text (every stream
 * but images, which text extraction never decodes).
 */
export type StreamUse = 'structure' | 'text';

/** Budgets: pdf-lib's object streams are a few percent of a file; text, fonts and pages more. */
export const DECODED_MAX_BYTES: Record<StreamUse, number> = {
	structure: 128 * 1024 * 1024,
	text: 256 * 1024 * 1024
};

const FLATE = new Set(['FlateDecode', 'Fl']);
// ASCII hex and base-85 only ever shrink what they decode.
const SHRINKING = new Set(['ASCIIHexDecode', 'AHx', 'ASCII85Decode', 'A85']);
const DICTIONARY_REACH = 64 * 1024;

interface Stream {
	/** The stream's dictionary, top-level entries only; null when it could not be read. */
	entries: Map<string, Value> | null;
	start: number;
	end: number;
}

/** Throws PdfExpansionError when `bytes` would decode past its budget for `use`. */
export async function assertPdfExpansion(
	bytes: Uint8Array,
	use: StreamUse,
	maxDecodedBytes = DECODED_MAX_BYTES[use]
): Promise<number> {
	const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	if (use === 'text' && buf.includes('/Encrypt')) throw new PdfExpansionError('encrypted', 0);
	let total = 0;
	for (const stream of streamsOf(buf)) {
		const { entries } = stream;
		const raw = stream.end - stream.start;
		// A dictionary that could not be read is counted whatever it says.
		if (entries) {
			const type = nameOf(entries.get('Type'));
			if (use === 'structure' && type !== 'ObjStm' && type !== 'XRef') continue;
			if (use === 'text' && nameOf(entries.get('Subtype')) === 'Image') continue;
		}
		const filters = entries ? namesOf(entries.get('Filter')) : ['FlateDecode'];
		if (filters.every((f) => SHRINKING.has(f))) {
			total += raw;
		} else if (filters.length === 1 && FLATE.has(filters[0]!)) {
			const data = buf.subarray(stream.start, stream.end);
			total += Math.max(raw, await inflatedSize(data, maxDecodedBytes - total));
		} else {
			throw new PdfExpansionError('filter', total);
		}
		if (total > maxDecodedBytes) throw new PdfExpansionError('too_large', total);
	}
	return total;
}

function* streamsOf(buf: Buffer): Generator<Stream> {
	let at = 0;
	for (;;) {
		at = buf.indexOf('stream', at, 'latin1');
		if (at < 0) return;
		const keyword = at;
		at += 6;
		// `endstream`, or the word inside other text: not a stream's start.
		if (keyword >= 3 && buf.toString('latin1', keyword - 3, keyword) === 'end') continue;
		let start = at;
		if (buf[start] === 0x0d) start++;
		if (buf[start] === 0x0a) start++;
		if (start === at) continue;
		const dictionary = dictionaryBefore(buf, keyword);
		const end = endOf(buf, dictionary, start);
		yield { entries: dictionary, start, end };
		at = Math.max(end, at);
	}
}

/**
 * The dictionary of the object whose `stream` keyword is at `keyword`: read forward, as a PDF
 * reader does, from the nearest `N G obj` header before it whose dictionary ends right at the
 * keyword (a header-like text inside a string of the dictionary does not). Null if none does.
 */
function dictionaryBefore(buf: Buffer, keyword: number): Map<string, Value> | null {
	const floor = Math.max(0, keyword - DICTIONARY_REACH);
	for (let at = buf.lastIndexOf('obj', keyword, 'latin1'); at >= floor;) {
		const header = /(?:^|[^0-9])[0-9]+[\s\0]+[0-9]+[\s\0]*$/.test(
			buf.toString('latin1', Math.max(0, at - 24), at)
		);
		if (header) {
			const lexer = new Lexer(buf, at + 3, keyword + 6);
			const parsed = lexer.dictionary();
			if (parsed && lexer.next() === 'stream') return parsed;
		}
		at = at > 0 ? buf.lastIndexOf('obj', at - 1, 'latin1') : -1;
	}
	return null;
}

/** A value of a dictionary entry: a name (with its slash), a number, a reference, an array. */
type Value = string | Value[] | Map<string, Value>;

const nameOf = (value: Value | undefined) =>
	typeof value === 'string' && value.startsWith('/') ? value.slice(1) : undefined;

function namesOf(value: Value | undefined): string[] {
	if (value === undefined) return [];
	const items = Array.isArray(value) ? value : [value];
	return items.map((item) => nameOf(item) ?? '?');
}

const WHITESPACE = new Set([0x00, 0x09, 0x0a, 0x0c, 0x0d, 0x20]);
const DELIMITERS = new Set([0x28, 0x29, 0x3c, 0x3e, 0x5b, 0x5d, 0x7b, 0x7d, 0x2f, 0x25]);

/** Just enough of the PDF syntax to read a dictionary: strings, comments, nesting. */
class Lexer {
	constructor(
		private readonly buf: Buffer,
		private at: number,
		private readonly limit: number
	) {}

	/** The next token, or null at the limit. Strings come back as `(` (their text is not needed). */
	next(): string | null {
		const { buf } = this;
		for (;;) {
			while (this.at < this.limit && WHITESPACE.has(buf[this.at]!)) this.at++;
			if (this.at >= this.limit) return null;
			if (buf[this.at] !== 0x25) break;
			while (this.at < this.limit && buf[this.at] !== 0x0a && buf[this.at] !== 0x0d) this.at++;
		}
		const c = buf[this.at]!;
		if (c === 0x3c && buf[this.at + 1] === 0x3c) return ((this.at += 2), '<<');
		if (c === 0x3e && buf[this.at + 1] === 0x3e) return ((this.at += 2), '>>');
		if (c === 0x5b || c === 0x5d) return ((this.at += 1), c === 0x5b ? '[' : ']');
		if (c === 0x28) {
			let depth = 0;
			for (; this.at < this.limit; this.at++) {
				const b = buf[this.at]!;
				if (b === 0x5c) this.at++;
				else if (b === 0x28) depth++;
				else if (b === 0x29 && --depth === 0) break;
			}
			this.at++;
			return '(';
		}
		if (c === 0x3c) {
			const close = buf.indexOf(0x3e, this.at);
			this.at = close < 0 || close >= this.limit ? this.limit : close + 1;
			return '(';
		}
		const begin = this.at;
		this.at++;
		while (this.at < this.limit && !WHITESPACE.has(buf[this.at]!) && !DELIMITERS.has(buf[this.at]!))
			this.at++;
		return buf.toString('latin1', begin, this.at);
	}

	/** A dictionary from here (`<<` first), top-level entries only; null if it is not one. */
	dictionary(): Map<string, Value> | null {
		if (this.next() !== '<<') return null;
		return this.entries();
	}

	private entries(): Map<string, Value> | null {
		const entries = new Map<string, Value>();
		for (;;) {
			const key = this.next();
			if (key === '>>') return entries;
			if (key === null || !key.startsWith('/')) return null;
			const value = this.value(this.next());
			if (value === null) return null;
			entries.set(key.slice(1), value);
		}
	}

	private value(token: string | null): Value | null {
		if (token === null || token === '>>' || token === ']') return null;
		if (token === '<<') return this.entries();
		if (token === '[') {
			const items: Value[] = [];
			for (;;) {
				const item = this.next();
				if (item === ']') return items;
				const value = this.value(item);
				if (value === null) return null;
				items.push(value);
			}
		}
		// `n g R`, a reference: kept whole, for /Length.
		if (/^[0-9]+$/.test(token)) {
			const saved = this.at;
			const generation = this.next();
			if (generation !== null && /^[0-9]+$/.test(generation) && this.next() === 'R') {
				return `${token} ${generation} R`;
			}
			this.at = saved;
		}
		return token;
	}
}

/** Where a stream's data ends: after `/Length` bytes when `endstream` follows them. */
function endOf(buf: Buffer, entries: Map<string, Value> | null, start: number): number {
	const declared = entries ? lengthOf(buf, entries.get('Length')) : null;
	if (declared !== null && start + declared <= buf.length) {
		let after = start + declared;
		while (after < buf.length && WHITESPACE.has(buf[after]!)) after++;
		if (buf.toString('latin1', after, after + 9) === 'endstream') return start + declared;
	}
	const next = buf.indexOf('endstream', start, 'latin1');
	return next < 0 ? buf.length : next;
}

/** `/Length n`, or `/Length n g R` looked up as `n g obj <integer>`; null when neither. */
function lengthOf(buf: Buffer, value: Value | undefined): number | null {
	if (typeof value !== 'string') return null;
	if (/^[0-9]+$/.test(value)) return Number(value);
	const reference = /^([0-9]+) ([0-9]+) R$/.exec(value);
	if (!reference) return null;
	const marker = `${reference[1]} ${reference[2]} obj`;
	for (
		let at = buf.indexOf(marker, 0, 'latin1');
		at >= 0;
		at = buf.indexOf(marker, at + 1, 'latin1')
	) {
		// Not the tail of another number (15 0 obj inside 115 0 obj).
		if (at > 0 && buf[at - 1]! >= 0x30 && buf[at - 1]! <= 0x39) continue;
		const after = at + marker.length;
		const found = /^\s*([0-9]+)\s+endobj/.exec(buf.toString('latin1', after, after + 40));
		return found ? Number(found[1]) : null;
	}
	return null;
}

/**
 * The size `data` inflates to, counted as it comes out and never kept; stops once it is past
 * `budget`. A stream that fails part way counts what came out before (as pdf.js keeps it).
 */
function inflatedSize(data: Buffer, budget: number): Promise<number> {
	return new Promise((resolve) => {
		const inflater = createInflate();
		let size = 0;
		const done = () => {
			inflater.removeAllListeners();
			inflater.on('error', () => {});
			inflater.destroy();
			resolve(size);
		};
		inflater.on('data', (chunk: Buffer) => {
			size += chunk.length;
			if (size > budget) done();
		});
		inflater.on('end', done);
		inflater.on('error', done);
		inflater.end(data);
	});
}
