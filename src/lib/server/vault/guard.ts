import { error, type RequestEvent } from '@sveltejs/kit';
import * as audit from '../audit';
import type { AuditAction } from '../audit';
import { requireRole } from '../auth/guards';
import type { SessionUser } from '../auth/types';
import { getLocale } from '$lib/paraglide/runtime';
import { getConfig } from '../config';
import { getDb, getLookupDb } from '../db';
import type { Document } from '../db/schema';
import { open, parseId } from './documents';
import { recordExpiredGrants } from './expired-grants';
import { homePanel, type VaultContext } from './pages';
import { readerForRequest, requestReaderFromSession } from './reader';
import type { Writer } from './write-rule';

type VaultEvent = Pick<RequestEvent, 'locals' | 'url' | 'request'>;

export interface VaultReader {
	user: SessionUser;
	reader: Writer;
	/** The vault's data generation read with the access (for the list cache). */
	generation?: number | null;
}

/**
 * The person's access for this request, after recording any grant that ended during their
 * session (access under it stops here, and auditors must see that it ended in use). The first
 * call of a request takes what `authenticate` read with the session, in the same statement;
 * any later call reads it again.
 */
async function readerFor(
	event: VaultEvent,
	user: SessionUser
): Promise<{ reader: Writer | null; generation: number | null }> {
	const sessionStart = event.locals.session?.createdAt;
	const taken = event.locals.vaultReader;
	event.locals.vaultReader = undefined;
	const found =
		taken?.accountId === user.id
			? requestReaderFromSession(user, taken)
			: await readerForRequest(getLookupDb(), user, sessionStart);
	if (found.grantsEnded) {
		await recordExpiredGrants(getDb(), user, sessionStart, audit.contextOf(event));
	}
	return found;
}

/** Staff and liaisons use the vault; anyone else gets the audited 404 of `requireRole`. */
export async function requireVaultUser(event: VaultEvent): Promise<VaultReader> {
	const user = await requireRole(event, 'staff', 'liaison');
	const { reader, generation } = await readerFor(event, user);
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
	// The session goes with the writer: a write checks in its transaction that it still exists.
	return { user, reader: { ...reader, sessionId: event.locals.session?.id }, generation };
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

/** Who is asking, in which language and time zone, and the audit fields of the request. */
export function vaultContext(event: VaultEvent, vault: VaultReader): VaultContext {
	return {
		user: vault.user,
		reader: vault.reader,
		audit: audit.contextOf(event),
		generation: vault.generation,
		locale: getLocale() === 'ja' ? 'ja' : 'en',
		timeZone: vault.user.timeZone ?? getConfig().displayTimeZone
	};
}

/**
 * For the author's own pages (edit, reclassify): the document must be readable (else the
 * usual 404) and theirs. Someone else's readable document answers 403, audited: its existence
 * is no secret to them, but changing it is not theirs to do.
 */
export async function requireOwnDocument(
	event: VaultEvent,
	rawId: string | undefined,
	attempted: AuditAction
): Promise<VaultReader & { document: Document }> {
	const found = await requireReadable(event, rawId, attempted);
	if (found.document.authorId !== found.reader.access.accountId) {
		await audit.record({
			...audit.contextOf(event),
			action: 'document.denied',
			outcome: 'denied',
			target: { type: 'document', id: found.document.id },
			details: {
				reason: 'write:not_author',
				documentId: found.document.id,
				title: found.document.title,
				attempted,
				method: event.request.method
			}
		});
		error(403, 'Forbidden');
	}
	return found;
}

/**
 * The home page's documents panel for the signed-in person, or null when they do not use the
 * vault (administrators and auditors, or an account no longer active). Audited as a list.
 */
export async function documentsPanel(event: VaultEvent) {
	const user = event.locals.user;
	if (!user || !(user.roles.includes('staff') || user.roles.includes('liaison'))) return null;
	const { reader, generation } = await readerFor(event, user);
	if (!reader) return null;
	const ctx = vaultContext(event, { user, reader, generation });
	const panel = await homePanel(ctx);
	await audit.record({
		...ctx.audit,
		action: 'document.list',
		outcome: 'allowed',
		details: {
			source: 'home',
			total: panel.total,
			returned: panel.items.length,
			documentIds: panel.items.map((i) => i.id)
		}
	});
	return panel;
}
