import { text } from 'node:stream/consumers';
import { getObjectStore } from '../storage';
import type { DocumentVersion } from '../db/schema';

/** Memos are small; anything larger is not shown inline (it stays downloadable). */
export const MEMO_MAX_BYTES = 2 * 1024 * 1024;

/** The Markdown of a memo version, read from the object store. */
export async function readMemo(version: DocumentVersion): Promise<string | null> {
	if (version.size > MEMO_MAX_BYTES) return null;
	const object = await getObjectStore().get(version.objectKey);
	return text(object.body);
}
