import { error, type RequestEvent } from '@sveltejs/kit';
import * as audit from '../audit';
import type { SessionUser } from '../auth/types';
import { open, type FileMode } from './download';
import { FileNotFoundError } from './file-access';

/** The shared body of the download and preview endpoints. */
export async function serveFile(
	event: RequestEvent,
	user: SessionUser,
	mode: FileMode,
	documentId: string,
	versionNumber?: string
): Promise<Response> {
	try {
		const answer = await open({
			user,
			context: audit.contextOf(event),
			documentId,
			versionNumber,
			mode,
			rangeHeader: event.request.headers.get('range'),
			ifRangeHeader: event.request.headers.get('if-range')
		});
		return new Response(answer.body, { status: answer.status, headers: answer.headers });
	} catch (caught) {
		if (caught instanceof FileNotFoundError) error(404, 'Not Found');
		throw caught;
	}
}
