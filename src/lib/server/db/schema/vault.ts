import { sql } from 'drizzle-orm';
import {
	bigint,
	check,
	date,
	index,
	integer,
	pgTable,
	smallint,
	text,
	timestamp,
	unique
} from 'drizzle-orm/pg-core';
import { account } from './account';
import { level, organisation } from './reference';

export const DOCUMENT_KINDS = ['memo', 'file'] as const;
export type DocumentKind = (typeof DOCUMENT_KINDS)[number];
export const DOCUMENT_STATUSES = ['draft', 'published', 'archived'] as const;
export type DocumentStatus = (typeof DOCUMENT_STATUSES)[number];

/**
 * Compartments and releasability are integer arrays so that the access rule is a pair of
 * GIN-indexable array operators inside SQL (`<@` and `@>`).
 */
export const document = pgTable(
	'document',
	{
		// A random id (migration 0010), not the next number: readers see ids in every address, and
		// numbers handed out in order would tell them how many documents they may not see were
		// created meanwhile, and which ids below the newest are hidden rather than unknown.
		id: integer()
			.primaryKey()
			.default(sql`document_new_id()`),
		kind: text().notNull().$type<DocumentKind>(),
		title: text().notNull(),
		summary: text().notNull().default(''),
		levelRank: smallint('level_rank')
			.notNull()
			.references(() => level.rank),
		compartmentIds: integer('compartment_ids')
			.array()
			.notNull()
			.default(sql`'{}'::integer[]`),
		releaseOrgIds: integer('release_org_ids').array().notNull(),
		originatorOrgId: integer('originator_org_id')
			.notNull()
			.references(() => organisation.id),
		authorId: integer('author_id')
			.notNull()
			.references(() => account.id),
		status: text().notNull().default('draft').$type<DocumentStatus>(),
		tags: text()
			.array()
			.notNull()
			.default(sql`'{}'::text[]`),
		reviewOn: date('review_on'),
		searchText: text('search_text').notNull().default(''),
		createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
		updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow()
	},
	(t) => [
		index('document_level_idx').on(t.levelRank, t.updatedAt, t.id),
		index('document_updated_idx').on(t.updatedAt, t.id),
		index('document_author_idx').on(t.authorId),
		index('document_originator_idx').on(t.originatorOrgId),
		index('document_compartments_gin').using('gin', t.compartmentIds),
		index('document_release_gin').using('gin', t.releaseOrgIds),
		index('document_tags_gin').using('gin', t.tags),
		check('document_kind_valid', sql`${t.kind} in ('memo','file')`),
		check('document_status_valid', sql`${t.status} in ('draft','published','archived')`),
		check('document_release_nonempty', sql`cardinality(${t.releaseOrgIds}) > 0`)
	]
);

/**
 * Each version carries a marking of its own (level, compartments, releasability, with the same
 * meaning as on `document`): what its bytes were marked when they were written, tightened by
 * every later upgrade of the document. A downgrade reaches the current version only, so an
 * unredacted original stays at the marking it was written under (see `reclassify`). The
 * releasability may end up empty (nobody may read that version): it is an intersection.
 */
export const documentVersion = pgTable(
	'document_version',
	{
		id: integer().primaryKey().generatedAlwaysAsIdentity(),
		documentId: integer('document_id')
			.notNull()
			.references(() => document.id),
		number: integer().notNull(),
		levelRank: smallint('level_rank')
			.notNull()
			.references(() => level.rank),
		compartmentIds: integer('compartment_ids').array().notNull(),
		releaseOrgIds: integer('release_org_ids').array().notNull(),
		state: text().notNull().default('pending').$type<'pending' | 'active'>(),
		objectKey: text('object_key').notNull().unique(),
		size: bigint({ mode: 'number' }).notNull(),
		sha256: text().notNull(),
		contentType: text('content_type').notNull(),
		fileName: text('file_name').notNull(),
		note: text().notNull().default(''),
		createdBy: integer('created_by')
			.notNull()
			.references(() => account.id),
		createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow()
	},
	(t) => [
		unique('document_version_number_key').on(t.documentId, t.number),
		check('document_version_sha256_hex', sql`${t.sha256} ~ '^[0-9a-f]{64}$'`)
	]
);

export type Document = typeof document.$inferSelect;
export type DocumentVersion = typeof documentVersion.$inferSelect;

/**
 * Objects written by an upload that has not (yet) become a version. The row and the object are
 * written before the bytes arrive; activation deletes the row in the same transaction as the
 * version and its audit event, so anything still here after a while is an abandoned upload that
 * the reaper removes from the object store.
 */
export const pendingUpload = pgTable(
	'pending_upload',
	{
		id: integer().primaryKey().generatedAlwaysAsIdentity(),
		objectKey: text('object_key').notNull().unique(),
		accountId: integer('account_id')
			.notNull()
			.references(() => account.id),
		createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow()
	},
	(t) => [index('pending_upload_created_idx').on(t.createdAt)]
);

export type PendingUpload = typeof pendingUpload.$inferSelect;
