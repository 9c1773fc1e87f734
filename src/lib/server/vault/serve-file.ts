import { error, type RequestEvent } from '@sveltejs/kit';
import { m } from '$lib/paraglide/messages';
import { requireUser } from '../auth/guards';
import { startedElsewhere } from '../http/cross-site';
import * as audit from '../audit';
import { ObjectStoreUnavailableError } from '../storage';
import { log } from '../log';
import { parseId } from './documents';
import { open, type FileMode } from './download';
import { BusyError } from './pdf-work';
import { FileNotFoundError, WatermarkFailedError, WatermarkTooLargeError } from './file-access';
import { requireReadable } from './guard';

/**
 * A file is fetched from our own pages (or a typed or bookmarked address), never at another
 * site's request: with a SameSite=Lax cookie, a foreign page could otherwise send a reader to
 * download files, each recorded in the audit log as their own read. Checked before the access
 * check, so that the foreign page cannot make the reader probe ids either (an access denial in
 * their name for each): every such request gets the same 403, audited as cross-site, whether
 * the id exists, may be read or not.
 */
async function refuseStartedElsewhere(event: RequestEvent, mode: FileMode): Promise<void> {
	const site = startedElsewhere(event.request);
	if (!site) return;
	const rawId = event.params.id ?? '';
	const id = parseId(rawId);
	await audit.record({
		...audit.contextOf(event),
		action: 'document.denied',
		outcome: 'denied',
		target: { type: 'document', id: rawId },
		details: {
			reason: 'cross_site',
			documentId: id > 0 ? id : null,
			attempted: mode === 'preview' ? 'document.preview' : 'document.download',
			site
		}
	});
	error(403, m.files_cross_site());
}

/**
 * The whole of the download and preview endpoints (`/documents/[id]/…`): a request another
 * site started is refused first, then `requireReadable`, then the file of the current version
 * or of version `versionNumber`.
 */
export async function serveFile(
	event: RequestEvent,
	mode: FileMode,
	versionNumber?: string
): Promise<Response> {
	requireUser(event);
	await refuseStartedElsewhere(event, mode);
	const { document, reader } = await requireReadable(
		event,
		event.params.id,
		mode === 'preview' ? 'document.preview' : 'document.download'
	);
	try {
		const answer = await open({
			document,
			access: reader.access,
			context: audit.contextOf(event),
			versionNumber,
			mode,
			rangeHeader: event.request.headers.get('range'),
			ifRangeHeader: event.request.headers.get('if-range'),
			timeZone: event.locals.user?.timeZone
		});
		return new Response(answer.body, { status: answer.status, headers: answer.headers });
	} catch (caught) {
		if (caught instanceof FileNotFoundError) error(404, 'Not Found');
		if (caught instanceof WatermarkTooLargeError) {
			const mb = 1024 ** 2;
			const limit =
				caught.limit >= mb ? `${Math.floor(caught.limit / mb)} MB` : `${caught.limit} B`;
			error(413, m.files_watermark_too_large({ limit }));
		}
		// Encrypted or damaged: never served unmarked; the reader is told why (audited as failed).
		if (caught instanceof WatermarkFailedError) error(422, m.files_watermark_failed());
		// Every watermarking slot stayed busy: a plain "try again", never an endless queue.
		if (caught instanceof BusyError) error(503, m.files_busy());
		// The store is down before the first byte: nothing was sent, so the reader gets a plain
		// "try again later" rather than an internal error (the cause is logged for operators).
		if (caught instanceof ObjectStoreUnavailableError) {
			log.warn(
				{ err: caught, documentId: document.id, requestId: event.locals.requestId },
				'file not served: the object store is unavailable'
			);
			error(503, m.files_error_storage());
		}
		throw caught;
	}
}
