import { Readable } from 'node:stream';
import { and, eq, ne, sql } from 'drizzle-orm';
import { intArray, readableSql } from '../access';
import * as audit from '../audit';
import type { Executor, Transaction } from '../db';
import { getDb } from '../db';
import {
	document,
	documentVersion,
	pendingUpload,
	type Document,
	type DocumentKind,
	type DocumentStatus
} from '../db/schema';
import { getObjectStore } from '../storage';
import { activeVersion } from './documents';
import { setSearchText } from './search-text';
import * as sessions from '../auth/sessions';
import { readerOf } from './reader';
import { assertCanWrite, assertIsAuthor, WriteRefusedError, type Writer } from './write-rule';

/** The document is unknown to the writer (or unreadable, which is the same to them). */
export class DocumentNotFoundError extends Error {
	constructor(readonly documentId: number) {
		super(`No readable document ${documentId}`);
		this.name = 'DocumentNotFoundError';
	}
}

export interface Classification {
	levelRank: number;
	compartmentIds: number[];
	releaseOrgIds: number[];
}

export interface NewDocument extends Classification {
	kind: DocumentKind;
	title: string;
	summary: string;
	/** Defaults to the writer's organisation; a liaison can give no other. */
	originatorOrgId?: number;
	tags: string[];
	reviewOn?: string | null;
	status: Extract<DocumentStatus, 'draft' | 'published'>;
}

export interface NewVersion {
	objectKey: string;
	size: number;
	sha256: string;
	contentType: string;
	fileName: string;
	note?: string;
}

const sorted = (ids: readonly number[]) => [...new Set(ids)].sort((a, b) => a - b);

/**
 * The marking a new version is written under: its document's at that moment (read under the
 * document's row lock, or from the row just inserted). Reclassifications change it afterwards.
 */
export function newVersionMarking(doc: Classification): Classification {
	return {
		levelRank: doc.levelRank,
		compartmentIds: sorted(doc.compartmentIds),
		releaseOrgIds: sorted(doc.releaseOrgIds)
	};
}

/**
 * Inserts the document row after the write rule. Author and originator come from the writer,
 * never from the request. Call inside the transaction that adds its first version.
 */
export async function insertDocument(
	tx: Executor,
	writer: Writer,
	input: NewDocument
): Promise<Document> {
	const target = {
		levelRank: input.levelRank,
		compartmentIds: sorted(input.compartmentIds),
		releaseOrgIds: sorted(input.releaseOrgIds),
		originatorOrgId: input.originatorOrgId ?? writer.access.organisationId
	};
	assertCanWrite(writer, target);
	const [created] = await tx
		.insert(document)
		.values({
			kind: input.kind,
			title: input.title,
			summary: input.summary,
			...target,
			authorId: writer.access.accountId,
			status: input.status,
			tags: [...new Set(input.tags)],
			reviewOn: input.reviewOn ?? null
		})
		.returning();
	return created!;
}

/**
 * The writer as they are now, first thing in a write's transaction: the account still active
 * and the request's session not ended, both rows locked until the commit (see
 * `sessions.stillActing`), and the roles and access read again from the grants valid now. The
 * request's guard read them when it arrived, and a form's body can take minutes to follow: a
 * grant revoked, a session ended or an account disabled meanwhile counts for the write.
 */
export async function writerNow(
	tx: Executor,
	writer: Pick<Writer, 'sessionId'> & { access: Pick<Writer['access'], 'accountId'> }
): Promise<Writer> {
	const accountId = writer.access.accountId;
	const acting = await sessions.stillActing(tx, accountId, writer.sessionId);
	if (!acting) throw new WriteRefusedError('ended');
	const now = await readerOf(tx, { id: accountId, roles: acting.roles });
	if (!now) throw new WriteRefusedError('ended');
	return { ...now, sessionId: writer.sessionId };
}

/**
 * Locks a document the writer may read and checks that they are its author. Throws
 * DocumentNotFoundError when it is not readable, WriteRefusedError when not theirs.
 */
export async function lockOwn(tx: Transaction, writer: Writer, id: number): Promise<Document> {
	const [row] = await tx
		.select()
		.from(document)
		.where(and(eq(document.id, id), readableSql(writer.access)))
		.for('update');
	if (!row) throw new DocumentNotFoundError(id);
	assertIsAuthor(writer, row);
	return row;
}

/** Adds the next version (numbers never reused) to a document the writer authors. */
export async function addVersion(
	tx: Transaction,
	writer: Writer,
	documentId: number,
	version: NewVersion
): Promise<{ document: Document; number: number }> {
	const doc = await lockOwn(tx, writer, documentId);
	if (doc.status === 'archived') throw new WriteRefusedError('status');
	const [last] = await tx
		.select({ n: sql<number>`coalesce(max(${documentVersion.number}), 0)`.mapWith(Number) })
		.from(documentVersion)
		.where(eq(documentVersion.documentId, documentId));
	const number = (last?.n ?? 0) + 1;
	await tx.insert(documentVersion).values({
		documentId,
		number,
		...newVersionMarking(doc),
		state: 'active',
		objectKey: version.objectKey,
		size: version.size,
		sha256: version.sha256,
		contentType: version.contentType,
		fileName: version.fileName,
		note: version.note ?? '',
		createdBy: writer.access.accountId
	});
	await tx.update(document).set({ updatedAt: new Date() }).where(eq(document.id, documentId));
	return { document: doc, number };
}

export const MEMO_CONTENT_TYPE = 'text/markdown; charset=utf-8';
export const MEMO_FILE_NAME = 'memo.md';

/**
 * Stores memo Markdown as a new object (server-generated key, never overwritten) and notes it
 * as pending until `finish` commits its version: a failure in between leaves no version and
 * the object is removed (or reaped later if the process dies).
 */
async function storeMemoBytes(
	writer: Writer,
	markdown: string
): Promise<{
	stored: { key: string; size: number; sha256: string };
	discard: () => Promise<void>;
}> {
	const store = getObjectStore();
	const stored = await store.put('versions', Readable.from([Buffer.from(markdown, 'utf8')]), {
		contentType: MEMO_CONTENT_TYPE
	});
	await getDb()
		.insert(pendingUpload)
		.values({ objectKey: stored.key, accountId: writer.access.accountId });
	return {
		stored,
		discard: async () => {
			await store.delete(stored.key).catch(() => {});
			await getDb()
				.delete(pendingUpload)
				.where(eq(pendingUpload.objectKey, stored.key))
				.catch(() => {});
		}
	};
}

async function withMemoBytes<T>(
	writer: Writer,
	markdown: string,
	work: (tx: Transaction, stored: { key: string; size: number; sha256: string }) => Promise<T>
): Promise<T> {
	const { stored, discard } = await storeMemoBytes(writer, markdown);
	try {
		return await getDb().transaction(async (tx) => {
			const result = await work(tx, stored);
			await tx.delete(pendingUpload).where(eq(pendingUpload.objectKey, stored.key));
			return result;
		});
	} catch (error) {
		await discard();
		throw error;
	}
}

export interface MemoInput {
	title: string;
	summary: string;
	body: string;
	tags: string[];
	reviewOn?: string | null;
}

export interface NewMemo extends MemoInput, Classification {
	originatorOrgId?: number;
	publish: boolean;
}

const classificationDetails = (c: Classification) => ({
	levelRank: c.levelRank,
	compartmentIds: sorted(c.compartmentIds),
	releaseOrgIds: sorted(c.releaseOrgIds)
});

/** Writes a new memo (version 1) as a draft or published, with its audit event. */
export async function createMemo(
	writer: Writer,
	context: audit.AuditContext,
	input: NewMemo
): Promise<Document> {
	// Refused before any byte is stored.
	assertCanWrite(writer, {
		levelRank: input.levelRank,
		compartmentIds: input.compartmentIds,
		releaseOrgIds: input.releaseOrgIds,
		originatorOrgId: input.originatorOrgId ?? writer.access.organisationId
	});
	return withMemoBytes(writer, input.body, async (tx, stored) => {
		const now = await writerNow(tx, writer);
		const doc = await insertDocument(tx, now, {
			kind: 'memo',
			title: input.title,
			summary: input.summary,
			levelRank: input.levelRank,
			compartmentIds: input.compartmentIds,
			releaseOrgIds: input.releaseOrgIds,
			originatorOrgId: input.originatorOrgId,
			tags: input.tags,
			reviewOn: input.reviewOn,
			status: input.publish ? 'published' : 'draft'
		});
		await tx.insert(documentVersion).values({
			documentId: doc.id,
			number: 1,
			...newVersionMarking(doc),
			state: 'active',
			objectKey: stored.key,
			size: stored.size,
			sha256: stored.sha256,
			contentType: MEMO_CONTENT_TYPE,
			fileName: MEMO_FILE_NAME,
			createdBy: now.access.accountId
		});
		await setSearchText(tx, doc.id, input.body);
		await audit.append(tx, {
			...context,
			action: 'document.create',
			outcome: 'allowed',
			target: { type: 'document', id: doc.id },
			details: {
				documentId: doc.id,
				title: doc.title,
				kind: 'memo',
				status: doc.status,
				originatorOrgId: doc.originatorOrgId,
				version: 1,
				sha256: stored.sha256,
				size: stored.size,
				...classificationDetails(doc)
			}
		});
		return doc;
	});
}

/** A new version of the author's memo: metadata and text change, nothing is overwritten. */
export async function editMemo(
	writer: Writer,
	context: audit.AuditContext,
	documentId: number,
	input: MemoInput & { note?: string }
): Promise<{ document: Document; number: number }> {
	return withMemoBytes(writer, input.body, async (tx, stored) => {
		const now = await writerNow(tx, writer);
		const before = await lockOwn(tx, now, documentId);
		if (before.kind !== 'memo') throw new WriteRefusedError('status');
		const { number } = await addVersion(tx, now, documentId, {
			objectKey: stored.key,
			size: stored.size,
			sha256: stored.sha256,
			contentType: MEMO_CONTENT_TYPE,
			fileName: MEMO_FILE_NAME,
			note: input.note
		});
		const [doc] = await tx
			.update(document)
			.set({
				title: input.title,
				summary: input.summary,
				tags: [...new Set(input.tags)],
				reviewOn: input.reviewOn ?? null,
				updatedAt: new Date()
			})
			.where(eq(document.id, documentId))
			.returning();
		await setSearchText(tx, documentId, input.body);
		await audit.append(tx, {
			...context,
			action: 'document.edit',
			outcome: 'allowed',
			target: { type: 'document', id: documentId },
			details: {
				documentId,
				title: doc!.title,
				version: number,
				sha256: stored.sha256,
				size: stored.size,
				before: { title: before.title, summary: before.summary, tags: before.tags },
				after: { title: doc!.title, summary: doc!.summary, tags: doc!.tags }
			}
		});
		return { document: doc!, number };
	});
}

async function changeStatus(
	writer: Writer,
	context: audit.AuditContext,
	documentId: number,
	from: DocumentStatus,
	to: DocumentStatus,
	action: 'document.publish' | 'document.archive'
): Promise<Document> {
	return getDb().transaction(async (tx) => {
		const before = await lockOwn(tx, await writerNow(tx, writer), documentId);
		if (before.status !== from) throw new WriteRefusedError('status');
		const [doc] = await tx
			.update(document)
			.set({ status: to, updatedAt: new Date() })
			.where(eq(document.id, documentId))
			.returning();
		await audit.append(tx, {
			...context,
			action,
			outcome: 'allowed',
			target: { type: 'document', id: documentId },
			details: { documentId, title: doc!.title, before: { status: from }, after: { status: to } }
		});
		return doc!;
	});
}

/** Draft → published. */
export function publish(writer: Writer, context: audit.AuditContext, documentId: number) {
	return changeStatus(writer, context, documentId, 'draft', 'published', 'document.publish');
}

/** Published → archived: still readable, marked archived, no new versions. */
export function archive(writer: Writer, context: audit.AuditContext, documentId: number) {
	return changeStatus(writer, context, documentId, 'published', 'archived', 'document.archive');
}

/**
 * Marks the author's document up or down, within the author's own access, with a reason.
 * The originator never changes.
 *
 * Versions are marked too. The current version (the newest active one) takes the new marking
 * exactly: by reclassifying, the author declares what the current content is. Every earlier
 * version takes the stricter of its own marking and the new one (the higher level, the union of
 * the compartments, the intersection of the releasability): an upgrade reaches every version,
 * and a downgrade only the current one, so that marking down a redacted version does not mark
 * down the unredacted original before it. The document's row lock, taken first, keeps a new
 * version from coming in between.
 */
export async function reclassify(
	writer: Writer,
	context: audit.AuditContext,
	documentId: number,
	input: Classification & { reason: string }
): Promise<Document> {
	const reason = input.reason.trim();
	if (reason.length === 0) throw new Error('A reclassification needs a reason');
	return getDb().transaction(async (tx) => {
		const now = await writerNow(tx, writer);
		const before = await lockOwn(tx, now, documentId);
		const after = {
			levelRank: input.levelRank,
			compartmentIds: sorted(input.compartmentIds),
			releaseOrgIds: sorted(input.releaseOrgIds)
		};
		assertCanWrite(now, { ...after, originatorOrgId: before.originatorOrgId });
		const [doc] = await tx
			.update(document)
			.set({ ...after, updatedAt: new Date() })
			.where(eq(document.id, documentId))
			.returning();
		const current = await activeVersion(tx, documentId);
		if (current) {
			await tx.update(documentVersion).set(after).where(eq(documentVersion.id, current.id));
		}
		const earlier = await tx
			.update(documentVersion)
			.set({
				levelRank: sql`greatest(${documentVersion.levelRank}, ${after.levelRank})`,
				compartmentIds: sql`array(select distinct c from unnest(${documentVersion.compartmentIds}
					|| ${intArray(after.compartmentIds)}) as c order by c)`,
				releaseOrgIds: sql`array(select distinct r from unnest(${documentVersion.releaseOrgIds}) as r
					where r = any(${intArray(after.releaseOrgIds)}) order by r)`
			})
			.where(
				and(
					eq(documentVersion.documentId, documentId),
					current ? ne(documentVersion.id, current.id) : undefined
				)
			)
			.returning({
				levelRank: documentVersion.levelRank,
				compartmentIds: documentVersion.compartmentIds,
				releaseOrgIds: documentVersion.releaseOrgIds
			});
		// Each is now at the new marking or stricter; those stricter stay out of reach of the
		// readers the new marking lets in.
		const same = (a: number[], b: number[]) =>
			a.length === b.length && a.every((x, i) => x === b[i]);
		const stricter = earlier.filter(
			(v) =>
				v.levelRank !== after.levelRank ||
				!same(sorted(v.compartmentIds), after.compartmentIds) ||
				!same(sorted(v.releaseOrgIds), after.releaseOrgIds)
		).length;
		await audit.append(tx, {
			...context,
			action: 'document.reclassify',
			outcome: 'allowed',
			target: { type: 'document', id: documentId },
			details: {
				documentId,
				title: doc!.title,
				reason,
				before: classificationDetails(before),
				after: classificationDetails(after),
				currentVersion: current?.number ?? null,
				earlierVersions: earlier.length,
				earlierVersionsStricter: stricter
			}
		});
		return doc!;
	});
}
