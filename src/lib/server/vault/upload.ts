import { asc, eq, inArray, lte, sql } from 'drizzle-orm';
import { pipeline, type Readable } from 'node:stream';
import { z } from 'zod';
import { formText, hasControlCharacters } from '$lib/schemas/text';
import * as audit from '../audit';
import type { AuditAction, AuditContext } from '../audit';
import type { SessionUser } from '../auth/types';
import { getConfig } from '../config';
import { getDb, type Executor } from '../db';
import {
	compartment,
	document,
	type Document,
	documentVersion,
	level,
	organisation,
	pendingUpload
} from '../db/schema';
import {
	ObjectStoreUnavailableError,
	ObjectTooLargeError,
	getObjectStore,
	type ObjectStore
} from '../storage';
import { activeVersion, findReadable } from './documents';
import { FileNotFoundError } from './file-access';
import { sanitizeFileName } from './file-names';
import {
	FileInspector,
	FileTypeRefusedError,
	checkOoxmlPackage,
	contentTypeOf,
	isTextKind,
	kindFromFileName,
	type FileKind,
	type RefusalReason
} from './file-types';
import { json } from '@sveltejs/kit';
import { ReceiveError, receiveMultipart, type Fields } from './multipart';
import { storedPdfText } from './pdf-text';
import { setSearchText } from './search-text';
import { readerOf } from './reader';
import { newVersionMarking, writerNow } from './write';
import { WriteRefusedError, assertCanWrite, assertIsAuthor, type Writer } from './write-rule';

/**
 * File uploads in two phases. Phase one streams the bytes through the type inspector into a
 * new object and records it as a pending upload; phase two, in ONE transaction, writes the
 * document and version rows, the search text and the audit event, and deletes the pending row.
 * A refused, interrupted or crashed upload therefore never leaves a document row, and any
 * object it left behind is deleted here or later by the reaper. The text of a PDF is extracted
 * between the two phases (see pdf-text.ts), so no transaction is open while pdf.js works.
 */

export type UploadFailure =
	| 'too_large'
	| 'type_refused'
	| 'empty'
	| 'invalid'
	| 'no_file'
	| 'write_refused'
	| 'not_author'
	| 'interrupted'
	| 'idle_timeout'
	| 'unsupported_media_type'
	| 'storage_unavailable';

export class UploadError extends Error {
	constructor(
		readonly code: UploadFailure,
		readonly detail?: string,
		options?: { cause?: unknown }
	) {
		super(`Upload failed: ${code}${detail ? ` (${detail})` : ''}`, options);
		this.name = 'UploadError';
	}

	get status(): number {
		switch (this.code) {
			case 'too_large':
				return 413;
			case 'type_refused':
			case 'unsupported_media_type':
				return 415;
			case 'empty':
				return 422;
			case 'write_refused':
			case 'not_author':
				return 403;
			case 'idle_timeout':
				return 408;
			case 'storage_unavailable':
				return 503;
			default:
				return 400;
		}
	}

	/** Whether the server should stop reading the request at once rather than drain it. */
	get stopsReading(): boolean {
		return this.code === 'too_large' || this.code === 'interrupted' || this.code === 'idle_timeout';
	}
}

function toUploadError(error: unknown): unknown {
	if (error instanceof UploadError || error instanceof FileNotFoundError) return error;
	if (error instanceof ReceiveError)
		return new UploadError(error.code, undefined, { cause: error });
	if (error instanceof ObjectTooLargeError) return new UploadError('too_large');
	if (error instanceof FileTypeRefusedError) {
		return error.reason === 'empty'
			? new UploadError('empty')
			: new UploadError('type_refused', error.reason);
	}
	if (error instanceof WriteRefusedError) {
		return error.reason === 'not_author'
			? new UploadError('not_author', undefined, { cause: error })
			: new UploadError('write_refused', error.reason, { cause: error });
	}
	if (error instanceof ObjectStoreUnavailableError) {
		return new UploadError('storage_unavailable', undefined, { cause: error });
	}
	if ((error as NodeJS.ErrnoException)?.code === 'ERR_STREAM_PREMATURE_CLOSE') {
		return new UploadError('interrupted', undefined, { cause: error });
	}
	return error;
}

const idList = z.array(z.coerce.number().int().positive().max(2_147_483_647)).max(50);

/** Exactly the fields the upload form offers; anything else in the request is refused. */
const documentFields = z
	.object({
		title: formText(300).min(1),
		summary: formText(4000).default(''),
		level: z.coerce.number().int().min(0).max(100),
		compartments: idList.default([]),
		releasability: idList.min(1),
		tags: z
			.string()
			.max(1000)
			.refine((value) => !hasControlCharacters(value), 'control_characters')
			.default('')
			.transform((value) =>
				[
					...new Set(
						value
							.split(/[,、，]/)
							.map((t) => t.normalize('NFKC').trim())
							.filter((t) => t.length > 0 && t.length <= 50)
					)
				].slice(0, 20)
			),
		publish: z.enum(['on', 'true', '1']).optional()
	})
	.strict();

const versionFields = z.object({ note: formText(1000).default('') }).strict();

const MULTI = new Set(['compartments', 'releasability']);

function fieldsToObject(fields: Fields): Record<string, unknown> {
	const out: Record<string, unknown> = {};
	for (const [name, values] of fields) {
		if (MULTI.has(name)) out[name] = values.filter((v) => v !== '');
		else out[name] = values.length === 1 ? values[0] : values;
	}
	return out;
}

export type DocumentFields = z.infer<typeof documentFields>;

export function parseDocumentFields(fields: Fields): DocumentFields {
	const parsed = documentFields.safeParse(fieldsToObject(fields));
	if (!parsed.success) throw new UploadError('invalid', parsed.error.issues[0]?.path.join('.'));
	return parsed.data;
}

interface StoredFile {
	objectKey: string;
	size: number;
	sha256: string;
	kind: FileKind;
	contentType: string;
	fileName: string;
	text: string;
}

async function writerOf(executor: Executor, user: SessionUser): Promise<Writer> {
	const writer = await readerOf(executor, user);
	if (!writer) throw new UploadError('write_refused', 'account');
	return writer;
}

/**
 * The writer first thing in an upload's writing transaction, after a body that may have taken
 * an hour: as the vault's other writes read them (`writerNow`), the account still active, the
 * session not ended, and roles and access read again.
 */
const writerAtCommit = (tx: Executor, user: SessionUser, sessionId: string | undefined) =>
	writerNow(tx, { access: { accountId: user.id }, sessionId });

/**
 * Phase one: inspect and store the bytes, then remember the object as pending. Anything that
 * goes wrong after the object exists deletes it again before the error travels on.
 */
async function storeFile(
	db: Executor,
	store: ObjectStore,
	accountId: number,
	rawName: string,
	file: Readable,
	maxBytes: number
): Promise<StoredFile> {
	const fileName = sanitizeFileName(rawName);
	const kind = kindFromFileName(fileName);
	if (!kind) throw new UploadError('type_refused', 'extension' satisfies RefusalReason);
	const inspector = new FileInspector(kind);
	// The first failure of the stream is the true cause (a refusal, the client going away);
	// listening here also keeps a failure that comes before the store listens from escaping.
	let streamError: unknown = null;
	inspector.on('error', (error) => (streamError ??= error));
	// pipeline, not pipe: the file stream may already have failed while the fields were checked.
	pipeline(file, inspector, (error) => {
		if (error) inspector.destroy(error);
	});
	const contentType = contentTypeOf(kind);
	let put;
	let text: string;
	try {
		put = await store.put('versions', inspector, { maxBytes, contentType });
	} catch (error) {
		throw error instanceof ObjectTooLargeError ? error : (streamError ?? error);
	}
	try {
		await db.insert(pendingUpload).values({ objectKey: put.key, accountId });
		await checkOoxmlPackage(kind, put.size, async (offset, length) => {
			if (length === 0) return Buffer.alloc(0);
			const { body } = await store.get(put.key, { start: offset, end: offset + length - 1 });
			const chunks: Buffer[] = [];
			for await (const chunk of body) chunks.push(chunk as Buffer);
			return Buffer.concat(chunks);
		});
		// Extracted here, between the phases, from the stored object: the activating
		// transaction stays short, and the text is in place the moment the version is visible.
		text = isTextKind(kind)
			? inspector.text()
			: kind === 'pdf'
				? await storedPdfText(store, put.key, put.size)
				: '';
	} catch (error) {
		await discardStored(db, store, put.key);
		throw error;
	}
	return {
		objectKey: put.key,
		size: put.size,
		sha256: put.sha256,
		kind,
		contentType,
		fileName,
		text
	};
}

async function discardStored(db: Executor, store: ObjectStore, objectKey: string): Promise<void> {
	// Best effort: if either step fails the reaper finds the pending row or the orphan later.
	try {
		await store.delete(objectKey);
		await db.delete(pendingUpload).where(eq(pendingUpload.objectKey, objectKey));
	} catch {
		/* left to the reaper */
	}
}

async function removePending(tx: Executor, objectKey: string): Promise<void> {
	const removed = await tx
		.delete(pendingUpload)
		.where(eq(pendingUpload.objectKey, objectKey))
		.returning({ id: pendingUpload.id });
	// The reaper took it (an upload older than the reaper's age): its object is gone.
	if (removed.length !== 1) throw new UploadError('interrupted', 'reaped');
}

export interface UploadRequest {
	request: Request;
	user: SessionUser;
	context: audit.AuditContext;
	/** The request's session: the writing transaction checks it has not ended meanwhile. */
	sessionId?: string;
}

async function runUpload<T>(
	request: Request,
	prepare: (fields: Fields) => Promise<T>,
	finish: (prepared: T, stored: StoredFile) => Promise<number>,
	accountId: number
): Promise<number> {
	const db = getDb();
	const store = getObjectStore();
	const maxBytes = getConfig().uploadMaxBytes;
	try {
		return await receiveMultipart(request, {
			maxBytes,
			idleTimeoutMs: getConfig().uploadIdleTimeoutMs,
			stopNow: (error) => {
				const mapped = toUploadError(error);
				return !(mapped instanceof UploadError) || mapped.stopsReading;
			},
			async onFile(fields, rawName, file) {
				const prepared = await prepare(fields);
				const stored = await storeFile(db, store, accountId, rawName, file, maxBytes);
				try {
					return await finish(prepared, stored);
				} catch (error) {
					await discardStored(db, store, stored.objectKey);
					throw error;
				}
			}
		});
	} catch (error) {
		throw toUploadError(error);
	}
}

/** POST /documents/upload: a new file document from the form fields and one file. */
export async function createFromRequest({
	request,
	user,
	context,
	sessionId
}: UploadRequest): Promise<number> {
	const db = getDb();
	return runUpload(
		request,
		async (fields) => {
			const values = parseDocumentFields(fields);
			// Checked before a single byte is stored, and again when the document is written.
			assertCanWrite(await writerOf(db, user), writeTarget(values, user));
			await assertKnownOrganisations(db, values.releasability);
			return values;
		},
		async (values, stored) =>
			db.transaction(async (tx) => {
				assertCanWrite(await writerAtCommit(tx, user, sessionId), writeTarget(values, user));
				await assertKnownOrganisations(tx, values.releasability);
				const [created] = await tx
					.insert(document)
					.values({
						kind: 'file',
						title: values.title,
						summary: values.summary,
						levelRank: values.level,
						compartmentIds: [...new Set(values.compartments)].sort((a, b) => a - b),
						releaseOrgIds: [...new Set(values.releasability)].sort((a, b) => a - b),
						originatorOrgId: user.organisationId,
						authorId: user.id,
						status: values.publish ? 'published' : 'draft',
						tags: values.tags
					})
					.returning({
						id: document.id,
						levelRank: document.levelRank,
						compartmentIds: document.compartmentIds,
						releaseOrgIds: document.releaseOrgIds
					});
				const documentId = created!.id;
				await tx.insert(documentVersion).values({
					documentId,
					number: 1,
					...newVersionMarking(created!),
					state: 'active',
					objectKey: stored.objectKey,
					size: stored.size,
					sha256: stored.sha256,
					contentType: stored.contentType,
					fileName: stored.fileName,
					createdBy: user.id
				});
				await setSearchText(tx, documentId, stored.text);
				await audit.append(tx, {
					...context,
					action: 'document.upload',
					outcome: 'allowed',
					target: { type: 'document', id: documentId },
					details: {
						documentId,
						title: values.title,
						version: 1,
						fileName: stored.fileName,
						size: stored.size,
						sha256: stored.sha256,
						contentType: stored.contentType,
						level: values.level
					}
				});
				await removePending(tx, stored.objectKey);
				return documentId;
			}),
		user.id
	);
}

/**
 * Release to organisations that exist: an unknown id would otherwise release the document to
 * whichever organisation is later created with that id. Compartments need no such check: the
 * write rule already refuses one the writer does not hold.
 */
async function assertKnownOrganisations(executor: Executor, ids: number[]): Promise<void> {
	const wanted = [...new Set(ids)];
	if (wanted.length === 0) return;
	const found = await executor
		.select({ id: organisation.id })
		.from(organisation)
		.where(inArray(organisation.id, wanted));
	if (found.length !== wanted.length) throw new UploadError('invalid', 'releasability');
}

function writeTarget(values: DocumentFields, user: SessionUser) {
	return {
		levelRank: values.level,
		compartmentIds: values.compartments,
		releaseOrgIds: values.releasability,
		originatorOrgId: user.organisationId
	};
}

/**
 * POST /documents/[id]/versions/upload: a new version of the author's own file document. The
 * route's guard (`requireReadable`) has already answered 404 for an unknown or unreadable id.
 */
export async function addVersionFromRequest({
	request,
	user,
	context,
	sessionId,
	document: target
}: UploadRequest & { document: Pick<Document, 'id'> }): Promise<number> {
	const db = getDb();
	const documentId = target.id;
	const check = async (executor: Executor, writer: Writer) => {
		const doc = await findReadable(executor, writer.access, documentId);
		if (!doc) throw new FileNotFoundError();
		assertIsAuthor(writer, doc);
		if (doc.kind !== 'file' || doc.status === 'archived') {
			throw new UploadError('write_refused', doc.kind !== 'file' ? 'kind' : 'archived');
		}
		return doc;
	};
	// Refused before a byte is read when the person is not (or no longer) the author.
	await check(db, await writerOf(db, user)).catch((error: unknown) => {
		throw toUploadError(error);
	});
	return runUpload(
		request,
		async (fields) => {
			const parsed = versionFields.safeParse(fieldsToObject(fields));
			if (!parsed.success) throw new UploadError('invalid', parsed.error.issues[0]?.path.join('.'));
			return parsed.data;
		},
		async (values, stored) =>
			db.transaction(async (tx) => {
				const writer = await writerAtCommit(tx, user, sessionId);
				// The row lock orders concurrent versions of one document.
				await tx.execute(sql`select id from document where id = ${documentId} for update`);
				const doc = await check(tx, writer);
				const current = await activeVersion(tx, documentId);
				const [{ next }] = (await tx
					.select({ next: sql<number>`coalesce(max(${documentVersion.number}), 0) + 1` })
					.from(documentVersion)
					.where(eq(documentVersion.documentId, documentId))) as [{ next: number }];
				const number = Number(next);
				await tx.insert(documentVersion).values({
					documentId,
					number,
					// Read after the row lock above: a reclassification cannot come in between.
					...newVersionMarking(doc),
					state: 'active',
					objectKey: stored.objectKey,
					size: stored.size,
					sha256: stored.sha256,
					contentType: stored.contentType,
					fileName: stored.fileName,
					note: values.note,
					createdBy: user.id
				});
				await tx
					.update(document)
					.set({ updatedAt: sql`now()` })
					.where(eq(document.id, documentId));
				await setSearchText(tx, documentId, stored.text);
				await audit.append(tx, {
					...context,
					action: 'document.version_added',
					outcome: 'allowed',
					target: { type: 'document', id: documentId },
					details: {
						documentId,
						title: doc.title,
						version: number,
						previousVersion: current?.number ?? null,
						fileName: stored.fileName,
						size: stored.size,
						sha256: stored.sha256,
						contentType: stored.contentType
					}
				});
				await removePending(tx, stored.objectKey);
				return number;
			}),
		user.id
	);
}

/** The choices the upload form offers: only levels and compartments the user may write. */
export async function formOptions(user: SessionUser) {
	const db = getDb();
	const { access } = await writerOf(db, user);
	const [levels, compartments, organisations] = await Promise.all([
		db
			.select({ rank: level.rank, code: level.code, nameEn: level.nameEn, nameJa: level.nameJa })
			.from(level)
			.where(lte(level.rank, access.level))
			.orderBy(asc(level.rank)),
		access.compartmentIds.length === 0
			? Promise.resolve([])
			: db
					.select({
						id: compartment.id,
						code: compartment.code,
						nameEn: compartment.nameEn,
						nameJa: compartment.nameJa
					})
					.from(compartment)
					.where(inArray(compartment.id, access.compartmentIds))
					.orderBy(asc(compartment.code)),
		db
			.select({
				id: organisation.id,
				code: organisation.code,
				nameEn: organisation.nameEn,
				nameJa: organisation.nameJa,
				isHome: organisation.isHome
			})
			.from(organisation)
			.orderBy(asc(organisation.code))
	]);
	return {
		levels,
		compartments,
		organisations,
		ownOrganisationId: user.organisationId,
		maxBytes: getConfig().uploadMaxBytes
	};
}

/**
 * These routes read the raw body, so SvelteKit's form CSRF check is not enough on its own:
 * the Origin must be ours, and a browser saying cross-site is refused whatever it claims.
 */
export function sameOrigin(request: Request, url: URL): boolean {
	const ownOrigin = getConfig().origin ?? url.origin;
	const origin = request.headers.get('origin');
	if (origin === null || origin !== ownOrigin) return false;
	const site = request.headers.get('sec-fetch-site');
	return site === null || site === 'same-origin';
}

/** The refusals that are the write rule's (PRODUCT.md's who-may-write), audited as denials. */
const WRITE_RULE_REFUSALS: ReadonlySet<UploadFailure> = new Set(['write_refused', 'not_author']);
/** The file's own refusals (the allowlist, the size limit), audited as denials too. */
const FILE_REFUSALS: ReadonlySet<UploadFailure> = new Set(['type_refused', 'too_large', 'empty']);

/** What a denial's details say of a refusal, or null for one that is not audited. */
function deniedFor(error: UploadError): Record<string, unknown> | null {
	if (WRITE_RULE_REFUSALS.has(error.code)) {
		return {
			reason: `write:${error.code === 'not_author' ? 'not_author' : (error.detail ?? 'refused')}`
		};
	}
	// A polyglot, a PDF named as text, one byte over the limit: someone trying to store what
	// may not be stored, which the auditor sees though nothing was kept.
	if (FILE_REFUSALS.has(error.code)) {
		return { reason: `file:${error.code}`, detail: error.detail ?? null };
	}
	return null;
}

/**
 * The JSON answer of an upload endpoint for a refusal; anything unexpected is rethrown. A
 * refusal by the write rule (above the writer's access, not the author, an archived document)
 * or of the file itself (its type, its size) is first audited as a denial, as the memo forms'
 * refusals are (`pages.attempt`); if that audit event cannot be written the request fails
 * instead.
 */
export async function errorResponse(
	error: unknown,
	audited: { context: AuditContext; attempted: AuditAction; documentId: number | null }
): Promise<Response> {
	if (!(error instanceof UploadError)) throw error;
	const denied = deniedFor(error);
	if (denied) {
		const { context, attempted, documentId } = audited;
		await audit.record({
			...context,
			action: 'document.denied',
			outcome: 'denied',
			target: documentId === null ? null : { type: 'document', id: documentId },
			details: { ...denied, attempted, documentId }
		});
	}
	// The body may be partly unread: the connection cannot carry another request.
	return json(
		{ code: error.code, detail: error.detail ?? null },
		{ status: error.status, headers: { Connection: 'close' } }
	);
}
