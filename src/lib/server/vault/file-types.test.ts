import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { inflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { jpeg, ooxml, pdf, png, zip } from '../../../../tests/helpers/files';
import {
	FileInspector,
	FileTypeRefusedError,
	checkOoxmlPackage,
	kindFromFileName,
	type FileKind
} from './file-types';

/** Runs bytes through the inspector (in small chunks, as a network would) and the zip check. */
async function inspect(fileName: string, bytes: Buffer, chunk = 7): Promise<string> {
	const kind = kindFromFileName(fileName);
	if (!kind) throw new FileTypeRefusedError('extension');
	const inspector = new FileInspector(kind);
	const parts: Buffer[] = [];
	for (let i = 0; i < bytes.length; i += chunk) parts.push(bytes.subarray(i, i + chunk));
	await pipeline(Readable.from(parts), inspector, new Writable({ write: (_c, _e, cb) => cb() }));
	await checkOoxmlPackage(kind, bytes.length, async (offset, length) => {
		// As the object store answers a range past the end: an error, not a short read.
		if (offset < 0 || offset + length > bytes.length) throw new RangeError('outside the object');
		return bytes.subarray(offset, offset + length);
	});
	return inspector.text();
}

async function refusal(fileName: string, bytes: Buffer, chunk?: number): Promise<string> {
	try {
		await inspect(fileName, bytes, chunk);
	} catch (error) {
		if (error instanceof FileTypeRefusedError) return error.reason;
		throw error;
	}
	return 'accepted';
}

/** The [Content_Types].xml of a package built by the `zip` helper (stored first, deflated). */
function contentTypesOf(bytes: Buffer): string {
	const nameLength = bytes.readUInt16LE(26);
	const compressed = bytes.readUInt32LE(18);
	const start = 30 + nameLength;
	return inflateRawSync(bytes.subarray(start, start + compressed)).toString('utf8');
}

/** A copy with a field of the first central directory entry changed. */
function withCentralField(bytes: Buffer, at: number, value: number, size: 2 | 4): Buffer {
	const copy = Buffer.from(bytes);
	const directory = copy.readUInt32LE(copy.length - 22 + 16);
	if (size === 4) copy.writeUInt32LE(value, directory + at);
	else copy.writeUInt16LE(value, directory + at);
	return copy;
}

/** A copy with a field of the first local header changed. */
function withLocalField(bytes: Buffer, at: number, value: number): Buffer {
	const copy = Buffer.from(bytes);
	copy.writeUInt16LE(value, at);
	return copy;
}

describe('the upload allowlist', () => {
	const allowed: [string, Buffer][] = [
		['report.pdf', pdf()],
		['Report.PDF', pdf()],
		['brief.docx', ooxml('docx')],
		['budget.xlsx', ooxml('xlsx')],
		['slides.pptx', ooxml('pptx')],
		['orbit.png', png()],
		['photo.jpg', jpeg()],
		['photo.jpeg', jpeg()],
		['notes.txt', Buffer.from('宇宙安全保障\nspace security\n', 'utf8')],
		['notes.md', Buffer.from('# 暗号\n\n- item\n', 'utf8')],
		['table.csv', Buffer.from('a,b\n1,2\n', 'utf8')]
	];
	it.each(allowed)('accepts %s', async (name, bytes) => {
		expect(await refusal(name, bytes)).toBe('accepted');
	});

	it('keeps the text of text files for search, across chunk boundaries inside a character', async () => {
		expect(await inspect('n.txt', Buffer.from('宇宙と暗号', 'utf8'), 1)).toBe('宇宙と暗号');
		expect(await inspect('r.pdf', pdf())).toBe('');
	});

	it.each([
		['script.html', Buffer.from('<html></html>')],
		['image.svg', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>')],
		['run.exe', Buffer.from('MZ')],
		['macro.docm', ooxml('docx')],
		['no-extension', pdf()],
		['trailing.', pdf()],
		['.pdf', pdf()]
	])('refuses the extension of %s', async (name, bytes) => {
		expect(await refusal(name, bytes)).toBe('extension');
	});

	it.each<[string, Buffer]>([
		['really-html.pdf', Buffer.from('<!doctype html><script>alert(1)</script>')],
		['really-svg.pdf', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>')],
		['png-named.jpg', png()],
		['pdf-named.png', pdf()],
		['text-named.docx', Buffer.from('hello')],
		['short.png', Buffer.from([0x89, 0x50])],
		['pdf-late-magic.pdf', Buffer.concat([Buffer.from('<html>'), pdf()])]
	])('refuses %s by its magic bytes', async (name, bytes) => {
		expect(await refusal(name, bytes)).toBe('magic');
	});

	// An all-ASCII PDF (`mutool clean -a` writes one) is valid UTF-8 without NUL: named as text
	// it would be served as text, never watermarked, and open again once renamed to .pdf.
	const ascii = (text: string) => Buffer.from(text, 'latin1');
	it.each<[string, Buffer]>([
		['pdf-named.txt', pdf()],
		['pdf-named.md', pdf()],
		['pdf-named.markdown', pdf()],
		['pdf-named.csv', pdf()],
		['bom-then-pdf.txt', Buffer.concat([Buffer.from('\ufeff', 'utf8'), pdf()])],
		['notes-then-pdf.md', Buffer.concat([ascii('# Notes\n'.repeat(100)), pdf()])],
		// Acrobat looks for the header in the first 1024 bytes: one starting at byte 1023 counts.
		['header-at-1023.txt', Buffer.concat([ascii(' '.repeat(1023)), pdf()])],
		['png-named.txt', png()],
		['jpeg-named.md', jpeg()],
		['docx-named.csv', ooxml('docx')],
		['zip-header-then-text.csv', Buffer.concat([ascii('PK\x03\x04'), ascii('a,b\n1,2\n')])]
	])('refuses %s as text whose content is another type', async (name, bytes) => {
		for (const chunk of [1, 7, 1024, 1028, bytes.length]) {
			expect(await refusal(name, bytes, chunk), `in chunks of ${chunk}`).toBe('magic');
		}
	});

	// A PDF reader finds `%PDF-` anywhere in the first kilobyte, so an image or an Office file
	// that carries one there opens as a PDF once saved as .pdf: one that was never watermarked.
	const pngChunk = (type: string, data: Buffer) => {
		const length = Buffer.alloc(4);
		length.writeUInt32BE(data.length);
		return Buffer.concat([length, Buffer.from(type, 'latin1'), data, Buffer.alloc(4)]);
	};
	const pngWith = (before: number) =>
		Buffer.concat([
			png().subarray(0, 8),
			pngChunk('tEXt', Buffer.concat([ascii(`Comment\0${' '.repeat(before)}`), pdf()])),
			png().subarray(8)
		]);
	it.each<[string, Buffer]>([
		['pdf-in-png.png', pngWith(0)],
		['pdf-in-png-at-1023.png', pngWith(1023 - 8 - 8 - 8)],
		[
			'pdf-in-jpeg.jpg',
			Buffer.concat([jpeg().subarray(0, 2), ascii('\xff\xfe\x00\x40'), pdf(), jpeg().subarray(2)])
		],
		['pdf-in-docx.docx', zip([{ name: '%PDF-1.7 cover', data: 'x' }])],
		['pdf-in-xlsx.xlsx', zip([{ name: 'a'.repeat(900) + '%PDF-', data: 'x' }])]
	])('refuses %s, an image or Office file that is also a PDF', async (name, bytes) => {
		for (const chunk of [1, 7, 1024, 1028, bytes.length]) {
			expect(await refusal(name, bytes, chunk), `in chunks of ${chunk}`).toBe('magic');
		}
	});

	it('accepts an image whose `%PDF-` lies past the first kilobyte', async () => {
		for (const chunk of [1, 7, 1028]) {
			expect(await refusal('late.png', pngWith(1024), chunk)).toBe('accepted');
		}
	});

	it('accepts text with a PDF header past its first 1024 bytes, or a mere mention of PDF', async () => {
		const late = Buffer.concat([ascii(' '.repeat(1024)), pdf()]);
		expect(await refusal('header-at-1024.txt', late)).toBe('accepted');
		expect(await refusal('about.md', ascii('# PDF files\n\nA %PDF header, PK archives.\n'))).toBe(
			'accepted'
		);
	});

	it('passes on every byte of a text longer than its held-back head, and keeps its text', async () => {
		const text = '宇宙と暗号 space security\n'.repeat(200);
		for (const chunk of [1, 7, 1027, 1028, 1029, 4096]) {
			const bytes = Buffer.from(text, 'utf8');
			const inspector = new FileInspector('txt');
			const out: Buffer[] = [];
			const parts: Buffer[] = [];
			for (let i = 0; i < bytes.length; i += chunk) parts.push(bytes.subarray(i, i + chunk));
			await pipeline(
				Readable.from(parts),
				inspector,
				new Writable({
					write: (c: Buffer, _e, cb) => {
						out.push(c);
						cb();
					}
				})
			);
			expect(Buffer.concat(out).equals(bytes), `in chunks of ${chunk}`).toBe(true);
			expect(inspector.text()).toBe(text);
		}
	});

	it.each<[string, Buffer]>([
		['word-named-excel.xlsx', ooxml('xlsx', 'docx')],
		['slides-named-word.docx', ooxml('docx', 'pptx')],
		['plain-zip.docx', zip([{ name: 'a.txt', data: 'x' }])],
		['truncated.docx', ooxml('docx').subarray(0, 60)],
		// A Word document with macros: the docx type named only in a comment.
		[
			'macros.docx',
			zip([
				{
					name: '[Content_Types].xml',
					data:
						'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' +
						'<!-- ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml" -->' +
						'<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>' +
						'<Override PartName="/word/document.xml" ContentType="application/vnd.ms-word.document.macroEnabled.main+xml"/></Types>'
				},
				{ name: 'word/document.xml', data: '<?xml version="1.0"?><root/>' },
				{ name: 'word/vbaProject.bin', data: 'Attribute VB_Name' }
			])
		],
		// The right main type, and a macro project beside it.
		[
			'vba-part.docx',
			(() => {
				const bytes = ooxml('docx');
				return zip([
					{ name: '[Content_Types].xml', data: contentTypesOf(bytes) },
					{ name: 'word/document.xml', data: '<?xml version="1.0"?><root/>' },
					{ name: 'word/vbaProject.bin', data: 'Attribute VB_Name' }
				]);
			})()
		],
		['local-header-past-end.docx', withCentralField(ooxml('docx'), 42, 0x7fff_ffff, 4)],
		['name-past-end.docx', withLocalField(ooxml('docx'), 26, 0xffff)]
	])('refuses %s by its package contents', async (name, bytes) => {
		expect(await refusal(name, bytes)).toBe('package');
	});

	it.each<[string, Buffer, string]>([
		['latin1.txt', Buffer.from('caf\xe9', 'latin1'), 'encoding'],
		['overlong.md', Buffer.from([0x61, 0xc0, 0xaf]), 'encoding'],
		['cut.csv', Buffer.from('宇', 'utf8').subarray(0, 2), 'encoding'],
		['nul.txt', Buffer.from('a\0b'), 'nul'],
		['utf16.txt', Buffer.from('\ufeffhi', 'utf16le'), 'nul'],
		['empty.txt', Buffer.alloc(0), 'empty'],
		['empty.pdf', Buffer.alloc(0), 'empty']
	])('refuses %s (%s)', async (name, bytes, reason) => {
		expect(await refusal(name, bytes)).toBe(reason);
	});

	it('maps every extension to one kind, case-insensitively', () => {
		const kinds: Record<string, FileKind | null> = {
			'a.PdF': 'pdf',
			'a.tar.gz': null,
			'a.pdf.exe': null,
			'a.exe.pdf': 'pdf',
			'a.markdown': 'md'
		};
		for (const [name, kind] of Object.entries(kinds)) expect(kindFromFileName(name)).toBe(kind);
	});
});
