import { eq } from 'drizzle-orm';
import { createHash } from 'node:crypto';
import { buffer } from 'node:stream/consumers';
import { ReadableStream as WebReadableStream } from 'node:stream/web';
import * as audit from '../audit';
import { getConfig } from '../config';
import { getDb, type Database } from '../db';
import type { Access } from '../access';
import { level, type Document, type DocumentVersion } from '../db/schema';
import { log } from '../log';
import { ObjectStoreUnavailableError, getObjectStore, type ObjectStore } from '../storage';
import { activeVersion, openVersion, parseId } from './documents';
import {
	denyVersion,
	recordView,
	WatermarkFailedError,
	WatermarkTooLargeError
} from './file-access';
import { contentDisposition } from './file-names';
import { FILE_TYPES, kindFromContentType, type PreviewKind } from './file-types';
import { PdfExpansionError } from './pdf-streams';
import { BusyError, watermarkSlots } from './pdf-work';

/**
 * Downloads and previews of a document the route's guard (`requireReadable`) already found
 * readable. Order matters and is the point of this module: the access check, then the audit
 * event committed, then the object opened and the first byte sent. A failed audit write throws
 * before the object store is even asked.
 */

export type FileMode = 'download' | 'preview';

export interface FileRequest {
	document: Document;
	/** The reader's access: a version asked for by number is read under its own marking too. */
	access: Access;
	context: audit.AuditContext;
	/** Raw route parameter; absent for the current version. */
	versionNumber?: string;
	mode: FileMode;
	rangeHeader: string | null;
	ifRangeHeader: string | null;
	/** The reader's display time zone, printed in a watermark next to UTC. */
	timeZone?: string | null;
}

export interface FileAnswer {
	status: 200 | 206 | 416;
	headers: Headers;
	body: ReadableStream<Uint8Array> | null;
}

/**
 * One `bytes=a-b`, `a-` or `-n` range; anything else (several ranges, or an end before its
 * start, which RFC 9110 calls invalid) is ignored and the whole file served.
 */
export function parseRange(
	header: string | null,
	size: number
): { start: number; end: number } | 'unsatisfiable' | null {
	if (!header) return null;
	const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
	if (!match || (match[1] === '' && match[2] === '')) return null;
	if (match[1] === '') {
		const suffix = Number(match[2]);
		if (suffix === 0 || size === 0) return 'unsatisfiable';
		return { start: Math.max(0, size - suffix), end: size - 1 };
	}
	const start = Number(match[1]);
	if (match[2] !== '' && Number(match[2]) < start) return null;
	const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
	if (!Number.isSafeInteger(start) || start >= size || end < start) return 'unsatisfiable';
	return { start, end };
}

/** The level code from which PDFs carry the reader's watermark. */
export const WATERMARK_FROM_LEVEL = 'CONFIDENTIAL';

/**
 * Compared by rank, so a level inserted above CONFIDENTIAL is marked too. Without a level of that
 * code every PDF is marked: a renamed ladder must not silently unmark secrets. The document's
 * level and the version's both count: an earlier version may be marked above its document (an
 * original kept at SECRET after the document was marked down), and its bytes are what is sent.
 */
async function needsWatermark(db: Database, doc: Document, version: DocumentVersion) {
	if (previewKindOf(version) !== 'pdf') return false;
	const [threshold] = await db
		.select({ rank: level.rank })
		.from(level)
		.where(eq(level.code, WATERMARK_FROM_LEVEL))
		.limit(1);
	return !threshold || Math.max(doc.levelRank, version.levelRank) >= threshold.rank;
}

function previewKindOf(version: Pick<DocumentVersion, 'contentType'>): PreviewKind {
	const kind = kindFromContentType(version.contentType);
	return kind ? FILE_TYPES[kind].preview : 'none';
}

/** What a preview or download sends as Content-Type: only types from the allowlist. */
function safeContentType(version: Pick<DocumentVersion, 'contentType'>, mode: FileMode): string {
	const kind = kindFromContentType(version.contentType);
	if (!kind) return 'application/octet-stream';
	// Text of any flavour is shown as plain text: never as HTML, never sniffed.
	if (FILE_TYPES[kind].preview === 'text' && mode === 'preview') return 'text/plain; charset=utf-8';
	return FILE_TYPES[kind].contentType;
}

export async function open(request: FileRequest): Promise<FileAnswer> {
	const db = getDb();
	const doc = request.document;
	const attempted = request.mode === 'preview' ? 'document.preview' : 'document.download';
	let version: DocumentVersion | null;
	if (request.versionNumber === undefined) {
		version = await activeVersion(db, doc.id);
	} else {
		// A version the reader may not read (its own marking is stricter than the document's)
		// does not exist for them: the same 404 as a number never issued, after the same work.
		const found = await openVersion(db, request.access, doc.id, parseId(request.versionNumber));
		if (!found.version) {
			return denyVersion(request.context, doc, request.versionNumber, attempted, {
				reason: found.denial,
				marking: found.marking
			});
		}
		version = found.version;
	}
	if (!version) return denyVersion(request.context, doc, request.versionNumber, attempted);

	const headers = new Headers({
		'Content-Type': safeContentType(version, request.mode),
		'X-Content-Type-Options': 'nosniff',
		'Cache-Control': 'no-store, private',
		'Accept-Ranges': 'bytes',
		ETag: `"${version.sha256}"`
	});
	const preview = previewKindOf(version);
	const inline = request.mode === 'preview' && preview !== 'none';
	headers.set(
		'Content-Disposition',
		contentDisposition(inline ? 'inline' : 'attachment', version.fileName)
	);
	if (inline && preview !== 'pdf') {
		// Whatever is inside an image or a text file, it runs nothing and reaches nothing.
		headers.set(
			'Content-Security-Policy',
			"sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
		);
	}

	if (await needsWatermark(db, doc, version)) return watermarked(request, version, headers);

	const ifRange = request.ifRangeHeader;
	const range =
		ifRange && ifRange !== headers.get('ETag')
			? null
			: parseRange(request.rangeHeader, version.size);
	if (range === 'unsatisfiable') {
		// Each range request is an audited read, this one included, though it is sent nothing.
		await recordRead(request, version, 'failed', {
			reason: 'range_not_satisfiable',
			range: (request.rangeHeader ?? '').slice(0, 100)
		});
		headers.set('Content-Range', `bytes */${version.size}`);
		return { status: 416, headers, body: null };
	}

	// Committed before the object is opened: no record, no byte.
	await recordRead(
		request,
		version,
		'allowed',
		range ? { range: `${range.start}-${range.end}` } : {}
	);

	let object: Awaited<ReturnType<ObjectStore['get']>>;
	try {
		object = await getObjectStore().get(version.objectKey, range ?? undefined);
	} catch (error) {
		// The event above says the reader was served; they were sent nothing after all.
		if (error instanceof ObjectStoreUnavailableError) {
			await recordRead(request, version, 'failed', { reason: 'storage_unavailable' });
		}
		throw error;
	}
	// The store failing mid-body aborts the response (the client sees a short body, never a
	// complete-looking one); the reader's audit event already says they were sent something.
	object.body.once('error', (error) =>
		log.warn(
			{
				err: error,
				documentId: doc.id,
				version: version.number,
				requestId: request.context.requestId
			},
			'file transfer interrupted: the object store stream failed'
		)
	);
	// Pulled through the stream's async iterator, one chunk per read: a third less CPU per byte
	// than `Readable.toWeb`, which pauses and resumes the store's socket on every chunk (the files
	// benchmark's bare relay is the floor). Cancelling (the reader went away) ends the iterator,
	// which destroys the store's stream and frees its connection.
	const body = WebReadableStream.from(object.body) as unknown as ReadableStream<Uint8Array>;
	if (object.range) {
		headers.set('Content-Range', `bytes ${object.range.start}-${object.range.end}/${object.size}`);
		headers.set('Content-Length', String(object.range.end - object.range.start + 1));
		return { status: 206, headers, body };
	}
	headers.set('Content-Length', String(object.size));
	return { status: 200, headers, body };
}

/**
 * The reader's download or preview of `version`: `allowed` is committed before any of its bytes
 * is sent; `failed` says the attempt sent nothing, and why (after an `allowed` for the same
 * request, it corrects that event).
 */
function recordRead(
	request: FileRequest,
	version: DocumentVersion,
	outcome: 'allowed' | 'failed',
	extra: Record<string, unknown>
): Promise<void> {
	const doc = request.document;
	return audit.record({
		...request.context,
		action: request.mode === 'preview' ? 'document.preview' : 'document.download',
		outcome,
		target: { type: 'document', id: doc.id },
		details: {
			documentId: doc.id,
			title: doc.title,
			version: version.number,
			fileName: version.fileName,
			...extra
		}
	});
}

/**
 * A marked PDF is made per request and held in memory whole, so it is bounded by
 * WATERMARK_MAX_BYTES: above that the reader is refused rather than given unmarked bytes. Range
 * requests get the whole marked file (200): ranges over bytes that differ per request could not
 * be stitched together by the client anyway. At most WATERMARK_CONCURRENCY run at once; a reader
 * who waits longer than WATERMARK_WAIT_MS for a slot gets BusyError (503, "try again").
 */
async function watermarked(
	request: FileRequest,
	version: DocumentVersion,
	headers: Headers
): Promise<FileAnswer> {
	const doc = request.document;
	const attempted = request.mode === 'preview' ? 'document.preview' : 'document.download';
	const actor = request.context.actor;
	if (!actor) throw new Error('A watermarked file needs a signed-in reader');
	const limit = getConfig().watermarkMaxBytes;
	if (version.size > limit) {
		await audit.record({
			...request.context,
			action: 'document.denied',
			outcome: 'denied',
			target: { type: 'document', id: doc.id },
			details: {
				reason: 'watermark_too_large',
				documentId: doc.id,
				title: doc.title,
				version: version.number,
				size: version.size,
				limit,
				attempted
			}
		});
		throw new WatermarkTooLargeError(limit);
	}

	// A slot before anything else: a reader told "busy" was served nothing, so the attempt is
	// audited as failed (not as served), and no PDF is held in memory beyond the slots.
	let release: () => void;
	try {
		release = await watermarkSlots().acquire(getConfig().pdfWork.watermarkWaitMs);
	} catch (error) {
		if (error instanceof BusyError) {
			await audit.record({
				...request.context,
				action: attempted,
				outcome: 'failed',
				target: { type: 'document', id: doc.id },
				details: {
					reason: 'watermark_busy',
					documentId: doc.id,
					title: doc.title,
					version: version.number
				}
			});
		}
		throw error;
	}
	// The marked copy is made first and the read audited once it exists: the event then says
	// what happened (served, or why not), and still comes before the first byte is sent.
	let marked: Uint8Array;
	let markedSha256: string;
	try {
		let original: Buffer;
		try {
			const object = await getObjectStore().get(version.objectKey);
			original = await buffer(object.body);
		} catch (error) {
			// Nothing was sent yet: the store failing mid-read is the store being unavailable.
			await recordRead(request, version, 'failed', {
				reason: 'storage_unavailable',
				watermarked: true
			});
			if (error instanceof ObjectStoreUnavailableError) throw error;
			throw new ObjectStoreUnavailableError('The object store stream failed', { cause: error });
		}
		// Loaded on first use: pdf-lib and fontkit are large, and most answers never need them.
		const { watermarkPdf } = await import('./watermark');
		try {
			marked = await watermarkPdf(new Uint8Array(original), {
				name: actor.name,
				accountId: actor.id,
				at: new Date(),
				timeZone: request.timeZone ?? getConfig().displayTimeZone
			});
		} catch (error) {
			// An encrypted or damaged PDF, or one that would decode to more than may be held: it
			// cannot carry the reader's mark, so it is not served.
			await recordRead(request, version, 'failed', {
				reason: error instanceof PdfExpansionError ? 'watermark_expands' : 'watermark_failed',
				watermarked: true
			});
			throw new WatermarkFailedError({ cause: error });
		}
		// The marked copy's hash is kept with the read: a copy passed on as it was sent is
		// traced to its reader by its hash alone.
		markedSha256 = createHash('sha256').update(marked).digest('hex');
		await recordRead(request, version, 'allowed', { watermarked: true, markedSha256 });
	} catch (error) {
		release();
		throw error;
	}
	headers.set('Accept-Ranges', 'none');
	headers.set('ETag', `"wm-${markedSha256}"`);
	headers.set('Content-Length', String(marked.byteLength));
	// The slot is held until the marked bytes have been handed on (or the reader went away),
	// so a queue of slow readers cannot pile marked copies up in memory either. A reader who
	// stops reading for WATERMARK_READ_TIMEOUT_MS is cut off and the slot freed: a connection
	// kept open without reading would otherwise hold it for as long as it stays open. The
	// pieces handed on are copies, so what is still queued for that connection does not keep
	// the whole marked file in memory once it is dropped here.
	let rest: Uint8Array | undefined = marked;
	let offset = 0;
	const timeoutMs = getConfig().pdfWork.watermarkReadTimeoutMs;
	let idle: ReturnType<typeof setTimeout> | undefined;
	const finish = () => {
		clearTimeout(idle);
		rest = undefined;
		release();
	};
	const readSoon = (controller: ReadableStreamDefaultController<Uint8Array>) => {
		clearTimeout(idle);
		idle = setTimeout(() => {
			log.warn(
				{ documentId: doc.id, requestId: request.context.requestId, timeoutMs },
				'watermarked answer cut off: the reader stopped reading'
			);
			controller.error(new Error('The reader stopped reading the watermarked answer'));
			finish();
		}, timeoutMs);
	};
	const body = new ReadableStream<Uint8Array>({
		start: readSoon,
		pull(controller) {
			if (!rest) return;
			readSoon(controller);
			const end = Math.min(offset + MARKED_CHUNK, rest.byteLength);
			controller.enqueue(rest.slice(offset, end));
			offset = end;
			if (offset >= rest.byteLength) {
				controller.close();
				finish();
			}
		},
		cancel: finish
	});
	return { status: 200, headers, body };
}

const MARKED_CHUNK = 256 * 1024;

/** For the viewer page: how the current version of a readable document can be shown. */
export async function describe(context: audit.AuditContext, doc: Document) {
	const version = await activeVersion(getDb(), doc.id);
	if (!version) return denyVersion(context, doc, undefined, 'document.preview');
	await recordView(context, doc, 'viewer', version.number);
	return {
		version: {
			number: version.number,
			fileName: version.fileName,
			size: version.size,
			contentType: version.contentType
		},
		preview: previewKindOf(version)
	};
}
