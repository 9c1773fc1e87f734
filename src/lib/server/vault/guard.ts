import { error, type RequestEvent } from '@sveltejs/kit';
import * as audit from '../audit';
import type { AuditAction } from '../audit';
import { requireRole } from '../auth/guards';
import type { SessionUser } from '../auth/types';
import { getDb } from '../db';
import type { Document } from '../db/schema';
import { open, parseId } from './documents';
import { readerOf } from './reader';
import type { Writer } from './write-rule';

type VaultEvent = Pick<RequestEvent, 'locals' | 'url' | 'request'>;

export interface VaultReader {
	user: SessionUser;
	reader: Writer;
}

/** Staff and liaisons use the vault; anyone else gets the audited 404 of `requireRole`. */
export async function requireVaultUser(event: VaultEvent): Promise<VaultReader> {
	const user = await requireRole(event, 'staff', 'liaison');
	const reader = await readerOf(getDb(), user);
	if (!reader) {
		await audit.record({
			...audit.contextOf(event),
			action: 'document.denied',
			outcome: 'denied',
			target: { type: 'route', id: event.url.pathname },
			details: { reason: 'inactive_account', method: event.request.method }
		});
		error(404, 'Not Found');
	}
	return { user, reader };
}

/**
 * The guard of every route about one document. An unknown id and a document the reader may not
 * read both end here in the same 404 after the same work; the audit record keeps the true
 * reason (and the title the reader did not see) for auditors.
 */
export async function requireReadable(
	event: VaultEvent,
	rawId: string | undefined,
	attempted: AuditAction
): Promise<VaultReader & { document: Document }> {
	const vault = await requireVaultUser(event);
	const id = parseId(rawId);
	const found = await open(getDb(), vault.reader.access, id);
	if (found.document) return { ...vault, document: found.document };
	await audit.record({
		...audit.contextOf(event),
		action: 'document.denied',
		outcome: 'denied',
		target: { type: 'document', id: rawId ?? '' },
		details: {
			reason: found.denial,
			documentId: id > 0 ? id : null,
			title: found.title,
			attempted,
			method: event.request.method,
			path: event.url.pathname
		}
	});
	error(404, 'Not Found');
}
