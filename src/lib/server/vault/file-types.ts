import { Transform, type TransformCallback } from 'node:stream';
import { inflateRawSync } from 'node:zlib';

/**
 * The upload allowlist. A file is accepted only when its extension names an allowed type AND
 * its bytes are that type: magic bytes for binary formats, the main part of the OOXML package
 * for Office files, strict UTF-8 without NUL and no other type's signature for text. The
 * browser's MIME type is never used.
 */
export const FILE_TYPES = {
	pdf: { extensions: ['pdf'], contentType: 'application/pdf', preview: 'pdf' },
	docx: {
		extensions: ['docx'],
		contentType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
		preview: 'none'
	},
	xlsx: {
		extensions: ['xlsx'],
		contentType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
		preview: 'none'
	},
	pptx: {
		extensions: ['pptx'],
		contentType: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
		preview: 'none'
	},
	png: { extensions: ['png'], contentType: 'image/png', preview: 'image' },
	jpeg: { extensions: ['jpg', 'jpeg'], contentType: 'image/jpeg', preview: 'image' },
	txt: { extensions: ['txt'], contentType: 'text/plain; charset=utf-8', preview: 'text' },
	md: {
		extensions: ['md', 'markdown'],
		contentType: 'text/markdown; charset=utf-8',
		preview: 'text'
	},
	csv: { extensions: ['csv'], contentType: 'text/csv; charset=utf-8', preview: 'text' }
} as const satisfies Record<
	string,
	{ extensions: readonly string[]; contentType: string; preview: 'pdf' | 'image' | 'text' | 'none' }
>;

export type FileKind = keyof typeof FILE_TYPES;
export type PreviewKind = (typeof FILE_TYPES)[FileKind]['preview'];

export const ALLOWED_EXTENSIONS: readonly string[] = Object.values(FILE_TYPES).flatMap(
	(t) => t.extensions
);

const TEXT_KINDS: readonly FileKind[] = ['txt', 'md', 'csv'];
const OOXML_KINDS: readonly FileKind[] = ['docx', 'xlsx', 'pptx'];

export function isTextKind(kind: FileKind): boolean {
	return TEXT_KINDS.includes(kind);
}

export function isOoxmlKind(kind: FileKind): boolean {
	return OOXML_KINDS.includes(kind);
}

export type RefusalReason = 'extension' | 'magic' | 'encoding' | 'nul' | 'empty' | 'package';

export class FileTypeRefusedError extends Error {
	constructor(readonly reason: RefusalReason) {
		super(`The file type is not allowed (${reason})`);
		this.name = 'FileTypeRefusedError';
	}
}

/** The kind named by a file name's last extension, or null when it is not on the allowlist. */
export function kindFromFileName(fileName: string): FileKind | null {
	const dot = fileName.lastIndexOf('.');
	if (dot <= 0 || dot === fileName.length - 1) return null;
	const extension = fileName.slice(dot + 1).toLowerCase();
	for (const [kind, type] of Object.entries(FILE_TYPES)) {
		if ((type.extensions as readonly string[]).includes(extension)) return kind as FileKind;
	}
	return null;
}

/** Content type stored with the version; text is always declared UTF-8. */
export function contentTypeOf(kind: FileKind): string {
	return FILE_TYPES[kind].contentType;
}

/** Derives the kind back from a stored content type (versions written by other code included). */
export function kindFromContentType(contentType: string): FileKind | null {
	const bare = contentType.split(';')[0]!.trim().toLowerCase();
	for (const [kind, type] of Object.entries(FILE_TYPES)) {
		if (type.contentType.split(';')[0] === bare) return kind as FileKind;
	}
	return null;
}

const MAGIC: Partial<Record<FileKind, Uint8Array>> = {
	pdf: Uint8Array.from([0x25, 0x50, 0x44, 0x46, 0x2d]), // %PDF-
	png: Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
	jpeg: Uint8Array.from([0xff, 0xd8, 0xff]),
	docx: Uint8Array.from([0x50, 0x4b, 0x03, 0x04]), // a ZIP local file header
	xlsx: Uint8Array.from([0x50, 0x4b, 0x03, 0x04]),
	pptx: Uint8Array.from([0x50, 0x4b, 0x03, 0x04])
};

const PDF_HEADER = Buffer.from(MAGIC.pdf!);

/** How far into a file a PDF reader looks for `%PDF-` (Acrobat: the first 1024 bytes). */
const PDF_HEADER_WINDOW = 1024;

/** The head of a text file that is looked at whole before any of it passes on. */
const TEXT_HEAD_BYTES = PDF_HEADER_WINDOW + PDF_HEADER.length - 1;

/**
 * Whether the head of a file declared as text is another allowed type by its content: a PDF
 * header anywhere a PDF reader finds one (an all-ASCII PDF is valid UTF-8 without NUL, and
 * would then be served as text, never watermarked), or the magic bytes a binary type begins
 * with. A file is one type by extension and content alike.
 */
function isOtherTypeByContent(head: Buffer): boolean {
	if (head.subarray(0, TEXT_HEAD_BYTES).includes(PDF_HEADER)) return true;
	return Object.values(MAGIC).some((magic) => head.subarray(0, magic.length).equals(magic));
}

/** Text kept for search from text files (the vault keeps at most this much per document). */
export const MAX_EXTRACTED_TEXT = 200_000;

/**
 * Inspects bytes as they stream through: fails the stream as soon as the first bytes do not
 * match the declared kind, or when text stops being valid UTF-8 or holds a NUL byte, so a
 * refused file never finishes landing in the object store. The head of a text file is held
 * back until it is checked for another type's signature. Keeps the decoded text of text
 * files (bounded) for search.
 */
export class FileInspector extends Transform {
	private head = Buffer.alloc(0);
	private headChecked = false;
	/** For the binary kinds other than PDF: the start of the file, until searched for `%PDF-`. */
	private pdfWindow: Buffer | null;
	private readonly decoder: TextDecoder | null;
	private textParts: string[] = [];
	private textLength = 0;
	size = 0;

	constructor(readonly kind: FileKind) {
		super();
		this.decoder = isTextKind(kind) ? new TextDecoder('utf-8', { fatal: true }) : null;
		this.pdfWindow = kind === 'pdf' || this.decoder ? null : Buffer.alloc(0);
	}

	override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
		this.size += chunk.length;
		const bytes = this.releaseTextHead(chunk, false);
		if (!bytes) {
			callback();
			return;
		}
		const problem = this.inspect(bytes, false);
		if (problem) callback(new FileTypeRefusedError(problem));
		else callback(null, bytes);
	}

	override _flush(callback: TransformCallback): void {
		if (this.size === 0) {
			callback(new FileTypeRefusedError('empty'));
			return;
		}
		// A text file shorter than the head: all of it is still held back.
		const bytes = this.releaseTextHead(Buffer.alloc(0), true) ?? Buffer.alloc(0);
		const problem = this.inspect(bytes, true);
		if (problem) callback(new FileTypeRefusedError(problem));
		else callback(null, bytes.length > 0 ? bytes : undefined);
	}

	/**
	 * For text: gathers the first TEXT_HEAD_BYTES and gives them back whole (null until then),
	 * so `inspect` looks at the head at once, before any other check or any byte passes on.
	 * Other kinds, and text after its head, pass through as they come.
	 */
	private releaseTextHead(chunk: Buffer, end: boolean): Buffer | null {
		if (!this.decoder || this.headChecked) return chunk;
		this.head = Buffer.concat([this.head, chunk]);
		if (this.head.length < TEXT_HEAD_BYTES && !end) return null;
		const head = this.head;
		this.head = Buffer.alloc(0);
		return head;
	}

	/**
	 * Whether an image or an Office file also begins as a PDF: a PDF reader finds `%PDF-`
	 * anywhere in the first kilobyte (a PNG with it in an early chunk, a ZIP whose first stored
	 * entry is a PDF), so such a file, saved as .pdf from a download, opens as a PDF that was
	 * never watermarked. The first kilobyte is gathered as it passes and searched once whole.
	 */
	private hidesPdf(chunk: Buffer, end: boolean): boolean {
		const window = this.pdfWindow!;
		const room = TEXT_HEAD_BYTES - window.length;
		const gathered = room > 0 ? Buffer.concat([window, chunk.subarray(0, room)]) : window;
		if (gathered.length < TEXT_HEAD_BYTES && !end) {
			this.pdfWindow = gathered;
			return false;
		}
		this.pdfWindow = null;
		return gathered.includes(PDF_HEADER);
	}

	/** Decoded text of a text file (up to MAX_EXTRACTED_TEXT characters); '' otherwise. */
	text(): string {
		return this.textParts.join('');
	}

	private inspect(chunk: Buffer, end: boolean): RefusalReason | null {
		if (this.pdfWindow && this.hidesPdf(chunk, end)) return 'magic';
		const magic = MAGIC[this.kind];
		if (magic && !this.headChecked) {
			if (this.head.length < magic.length) {
				this.head = Buffer.concat([this.head, chunk.subarray(0, magic.length)]);
			}
			if (this.head.length >= magic.length || end) {
				this.headChecked = true;
				if (this.head.length < magic.length) return 'magic';
				if (!this.head.subarray(0, magic.length).equals(magic)) return 'magic';
			}
		}
		if (this.decoder) {
			// The first call has the whole head (see releaseTextHead).
			if (!this.headChecked) {
				this.headChecked = true;
				if (isOtherTypeByContent(chunk)) return 'magic';
			}
			if (chunk.includes(0)) return 'nul';
			let decoded: string;
			try {
				decoded = this.decoder.decode(chunk, { stream: !end });
			} catch {
				return 'encoding';
			}
			if (this.textLength < MAX_EXTRACTED_TEXT && decoded.length > 0) {
				const room = MAX_EXTRACTED_TEXT - this.textLength;
				const part = decoded.length > room ? decoded.slice(0, room) : decoded;
				this.textParts.push(part);
				this.textLength += part.length;
			}
		}
		return null;
	}
}

const MAIN_PART_TYPES: Record<'docx' | 'xlsx' | 'pptx', string> = {
	docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml',
	xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml',
	pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml'
};

/** Reads `length` bytes at `offset` of the stored object; given by the caller (object store). */
export type RangeReader = (offset: number, length: number) => Promise<Buffer>;

const EOCD_SIGNATURE = 0x06054b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
const MAX_CONTENT_TYPES_BYTES = 1024 * 1024;
// 65,535 entries (a ZIP's most without ZIP64) of 250 bytes each: more than any real document.
const MAX_DIRECTORY_BYTES = 16 * 1024 * 1024;

/**
 * Checks an OOXML package after it is stored: finds `[Content_Types].xml` through the ZIP's
 * central directory (read with ranges, so memory stays small whatever the file size) and
 * requires the main part of the declared kind. Macro-enabled and other variants are refused.
 */
export async function checkOoxmlPackage(
	kind: FileKind,
	size: number,
	read: RangeReader
): Promise<void> {
	if (!isOoxmlKind(kind)) return;
	const tailLength = Math.min(size, 22 + 0xffff);
	const tail = await read(size - tailLength, tailLength);
	let eocd = -1;
	for (let i = tail.length - 22; i >= 0; i--) {
		if (tail.readUInt32LE(i) === EOCD_SIGNATURE) {
			eocd = i;
			break;
		}
	}
	if (eocd < 0) throw new FileTypeRefusedError('package');
	const entries = tail.readUInt16LE(eocd + 10);
	const directorySize = tail.readUInt32LE(eocd + 12);
	const directoryOffset = tail.readUInt32LE(eocd + 16);
	if (directoryOffset + directorySize > size || directorySize > MAX_DIRECTORY_BYTES) {
		throw new FileTypeRefusedError('package');
	}
	const directory = await read(directoryOffset, directorySize);
	let position = 0;
	let found: { method: number; compressed: number; uncompressed: number; offset: number } | null =
		null;
	// Every entry is looked at: a macro project anywhere in the package refuses it.
	for (let n = 0; n < entries && position + 46 <= directory.length; n++) {
		if (directory.readUInt32LE(position) !== CENTRAL_SIGNATURE) break;
		const method = directory.readUInt16LE(position + 10);
		const compressed = directory.readUInt32LE(position + 20);
		const uncompressed = directory.readUInt32LE(position + 24);
		const nameLength = directory.readUInt16LE(position + 28);
		const extraLength = directory.readUInt16LE(position + 30);
		const commentLength = directory.readUInt16LE(position + 32);
		const offset = directory.readUInt32LE(position + 42);
		const name = directory.toString('utf8', position + 46, position + 46 + nameLength);
		if (MACRO_PART.test(name)) throw new FileTypeRefusedError('package');
		if (name === '[Content_Types].xml') found ??= { method, compressed, uncompressed, offset };
		position += 46 + nameLength + extraLength + commentLength;
	}
	if (
		!found ||
		found.compressed > MAX_CONTENT_TYPES_BYTES ||
		found.uncompressed > MAX_CONTENT_TYPES_BYTES
	) {
		throw new FileTypeRefusedError('package');
	}
	// Offsets and lengths come from the file: checked against its size before anything is read.
	if (found.offset + 30 > size) throw new FileTypeRefusedError('package');
	const local = await read(found.offset, 30);
	if (local.length < 30 || local.readUInt32LE(0) !== LOCAL_SIGNATURE) {
		throw new FileTypeRefusedError('package');
	}
	const dataStart = found.offset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
	if (dataStart + found.compressed > size) throw new FileTypeRefusedError('package');
	const data = await read(dataStart, found.compressed);
	let xml: string;
	try {
		const raw =
			found.method === 0
				? data
				: found.method === 8
					? inflateRawSync(data, { maxOutputLength: MAX_CONTENT_TYPES_BYTES })
					: null;
		if (!raw) throw new Error('unsupported compression');
		xml = new TextDecoder('utf-8', { fatal: true }).decode(raw);
	} catch {
		throw new FileTypeRefusedError('package');
	}
	// The content types the package declares, outside comments: the main part's must be the
	// kind's, and none may be a macro-enabled variant or a macro project.
	const declared = [
		...xml
			.replace(/<!--[\s\S]*?-->/g, '')
			.matchAll(/<(Override|Default)\b[^>]*?\bContentType\s*=\s*(["'])(.*?)\2/g)
	].map((m) => ({ element: m[1], type: m[3]!.trim().toLowerCase() }));
	const mainType = MAIN_PART_TYPES[kind as 'docx' | 'xlsx' | 'pptx'];
	if (
		declared.some((d) => /macroenabled|vbaproject|vbadata/.test(d.type)) ||
		!declared.some((d) => d.element === 'Override' && d.type === mainType)
	) {
		throw new FileTypeRefusedError('package');
	}
}

/** A macro project (VBA) part, wherever a package keeps it. */
const MACRO_PART = /(^|\/)vba(Project|Data)\.(bin|xml)$/i;
