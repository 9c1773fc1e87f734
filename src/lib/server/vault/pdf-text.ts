import { createRequire } from 'node:module';
import path from 'node:path';
import { log } from '../log';
import type { ObjectStore } from '../storage';
import { assertPdfExpansion, PdfExpansionError } from './pdf-streams';
import { textSlots } from './pdf-work';
import { SEARCH_TEXT_MAX_CHARS } from './search-text';

/**
 * Text of uploaded PDFs for search, read with pdf.js on the server. pdf.js needs the whole
 * file in memory, so only PDFs up to PDF_TEXT_MAX_BYTES are read; larger ones are stored and
 * found by title, summary and tags only. The work is bounded by pages, characters and time,
 * and any failure means "no text", never a refused upload.
 */
export const PDF_TEXT_MAX_BYTES = 50 * 1024 * 1024;
export const PDF_TEXT_MAX_PAGES = 500;
export const PDF_TEXT_TIMEOUT_MS = 30_000;

// Resolved from the installed package, so the same paths hold under Vite, in `node build`
// (adapter-node leaves dependencies external) and in the image's production node_modules.
const packageDir = path.dirname(createRequire(import.meta.url).resolve('pdfjs-dist/package.json'));
const CMAP_DIR = path.join(packageDir, 'cmaps') + path.sep;
const STANDARD_FONT_DIR = path.join(packageDir, 'standard_fonts') + path.sep;

class ExtractionTimeoutError extends Error {
	constructor() {
		super('PDF text extraction timed out');
		this.name = 'ExtractionTimeoutError';
	}
}

type PdfJs = typeof import('pdfjs-dist/legacy/build/pdf.mjs');
let pdfjs: Promise<PdfJs> | null = null;

/** Loaded on first use: the library is large and most requests never need it. */
function loadPdfJs(): Promise<PdfJs> {
	pdfjs ??= import('pdfjs-dist/legacy/build/pdf.mjs');
	return pdfjs;
}

/**
 * The text of a PDF, pages in order, at most SEARCH_TEXT_MAX_CHARS characters. Throws when
 * the file cannot be read or the time runs out, and (PdfExpansionError) before pdf.js opens a
 * file whose streams would decode to more than it may hold (see pdf-streams.ts).
 */
export async function extractPdfText(
	data: Uint8Array,
	timeoutMs = PDF_TEXT_TIMEOUT_MS
): Promise<string> {
	await assertPdfExpansion(data, 'text');
	const { getDocument, VerbosityLevel } = await loadPdfJs();
	const task = getDocument({
		// pdf.js refuses a Buffer: the same bytes, seen as a plain Uint8Array.
		data: Buffer.isBuffer(data) ? new Uint8Array(data.buffer, data.byteOffset, data.length) : data,
		cMapUrl: CMAP_DIR,
		cMapPacked: true,
		standardFontDataUrl: STANDARD_FONT_DIR,
		// No `isEvalSupported`: pdf.js 6 dropped the option along with its only use of eval
		// (compiled PostScript functions), so nothing from a PDF is ever run as code.
		// Text needs neither scripts, forms nor images; fetching nothing beyond the given bytes.
		enableXfa: false,
		disableFontFace: true,
		stopAtErrors: false,
		verbosity: VerbosityLevel.ERRORS
	});
	let timer: NodeJS.Timeout | undefined;
	const timeout = new Promise<never>((_, reject) => {
		timer = setTimeout(() => reject(new ExtractionTimeoutError()), timeoutMs);
	});
	const work = async () => {
		const doc = await task.promise;
		const pages = Math.min(doc.numPages, PDF_TEXT_MAX_PAGES);
		const parts: string[] = [];
		let length = 0;
		for (let number = 1; number <= pages && length < SEARCH_TEXT_MAX_CHARS; number++) {
			const page = await doc.getPage(number);
			const content = await page.getTextContent();
			let text = '';
			for (const item of content.items) {
				if (!('str' in item)) continue;
				// Glyph runs join without a space: Japanese has none, and pdf.js already puts
				// the spaces it sees between words into the text.
				text += item.str + (item.hasEOL ? '\n' : '');
			}
			page.cleanup();
			parts.push(text);
			length += text.length + 1;
		}
		return parts.join('\n').slice(0, SEARCH_TEXT_MAX_CHARS);
	};
	try {
		return await Promise.race([work(), timeout]);
	} finally {
		clearTimeout(timer);
		// Frees the parsed document, and stops the work still running after a timeout.
		await task.destroy().catch(() => {});
	}
}

/**
 * Search text of a stored PDF, read back from the object store; '' when it is too large to
 * read or cannot be read. Failures are logged by kind only: nothing of the content. At most
 * PDF_TEXT_CONCURRENCY extractions run at once (pdf-work.ts); the others wait.
 */
export async function storedPdfText(
	store: ObjectStore,
	objectKey: string,
	size: number
): Promise<string> {
	if (size > PDF_TEXT_MAX_BYTES) {
		log.info({ objectKey, size }, 'PDF too large for text extraction; searchable by metadata');
		return '';
	}
	// Waits its turn however long it takes: an upload never fails because of its text.
	const release = await textSlots().acquire();
	try {
		const { body } = await store.get(objectKey);
		const data = new Uint8Array(size);
		let offset = 0;
		for await (const chunk of body as AsyncIterable<Buffer>) {
			if (offset + chunk.length > size) {
				body.destroy();
				throw new Error('The stored object is larger than recorded');
			}
			data.set(chunk, offset);
			offset += chunk.length;
		}
		return await extractPdfText(data.subarray(0, offset));
	} catch (error) {
		log.warn(
			{
				objectKey,
				size,
				error: error instanceof Error ? error.name : typeof error,
				...(error instanceof PdfExpansionError
					? { reason: error.reason, decodedBytes: error.decodedBytes }
					: {})
			},
			'PDF text extraction failed; the document is searchable by metadata only'
		);
		return '';
	} finally {
		release();
	}
}
