import * as audit from '../audit';
import type { AuditAction, AuditContext } from '../audit';
import type { Access } from '../access';
import type { SessionUser } from '../auth/types';
import { getDb, getLookupDb } from '../db';
import type { Document, DocumentKind, DocumentStatus } from '../db/schema';
import { readMemo } from './content';
import * as documents from './documents';
import { BoundedCache, cached, dataGeneration, isCached, store } from './list-cache';
import { renderMarkdown } from './markdown';
import {
	levelName,
	loadReferences,
	markingOf,
	type Marking,
	type MarkingLocale,
	type References
} from './markings';
import { recordView } from './file-access';
import { DocumentNotFoundError } from './write';
import { isLiaisonOnly, WriteRefusedError, type Writer } from './write-rule';

/**
 * What the document pages show, put together from the domain functions, with the audit event
 * of each read committed before the data is returned (so before the page is served).
 */
export interface VaultContext {
	user: SessionUser;
	reader: Writer;
	audit: AuditContext;
	/** The data generation read with the reader's access, if it was (else read when needed). */
	generation?: number | null;
	locale: MarkingLocale;
	timeZone: string;
}

export interface Option {
	value: string;
	label: string;
	count?: number;
}

/** A facet value and how many readable documents have it. */
export interface FacetCount {
	value: string;
	count: number;
}

/** What a list entry's badge shows (the page's data is serialised into every list page). */
export type BadgeMarking = Pick<Marking, 'text' | 'colour' | 'textColour'>;

export interface ListEntry {
	id: number;
	kind: DocumentKind;
	title: string;
	summary: string;
	status: DocumentStatus;
	tags: string[];
	updatedAt: Date;
	authorName: string;
	originator: string;
	marking: BadgeMarking;
	snippet: { text: string; hit: boolean }[];
}

const orgCode = (refs: References, id: number) =>
	refs.organisations.find((o) => o.id === id)?.code ?? String(id);

function entryOf(item: documents.ListItem, refs: References, locale: MarkingLocale): ListEntry {
	const { text, colour, textColour } = markingOf(item, refs, locale);
	return {
		id: item.id,
		kind: item.kind,
		title: item.title,
		summary: item.summary,
		status: item.status,
		tags: item.tags,
		updatedAt: item.updatedAt,
		authorName: item.authorName,
		originator: orgCode(refs, item.originatorOrgId),
		marking: { text, colour, textColour },
		snippet: item.snippet
	};
}

export interface ListInput {
	q?: string;
	level: number[];
	compartment?: string;
	originator?: string;
	kind?: DocumentKind;
	tag?: string;
	status?: DocumentStatus;
	mine?: '1';
	from?: string;
	to?: string;
	cursor?: string;
}

/**
 * Codes from the query string to ids; an unknown code matches nothing rather than everything.
 * A compartment is looked up among the reader's own only: a codeword they are not read into
 * matches nothing they may read either, and it must not become a filter (and a list cache key)
 * of its own, or the first request for a real codeword would take longer than one for a made-up
 * code, and a reader could confirm programme names by timing.
 */
function filtersOf(
	ctx: VaultContext,
	refs: References,
	input: ListInput
): documents.DocumentFilters {
	const byCode = <T extends { id: number; code: string }>(items: T[], code?: string) =>
		code === undefined ? undefined : (items.find((i) => i.code === code)?.id ?? -1);
	const held = refs.compartments.filter((c) => ctx.reader.access.compartmentIds.includes(c.id));
	return {
		q: input.q?.trim() || undefined,
		levels: input.level.length > 0 ? input.level : undefined,
		compartmentId: byCode(held, input.compartment),
		originatorOrgId: byCode(refs.organisations, input.originator),
		kind: input.kind,
		tag: input.tag,
		status: input.status,
		authorId: input.mine ? ctx.reader.access.accountId : undefined,
		updatedFrom: input.from,
		updatedTo: input.to,
		timeZone: ctx.timeZone
	};
}

/** The data generation the guard read with the reader's access, or read now if it did not. */
async function generationOf(ctx: VaultContext): Promise<number | null> {
	return ctx.generation === undefined ? dataGeneration(getDb()) : ctx.generation;
}

/** The reference tables as of `generation` (which their changes raise too), loaded once per instance. */
const referenceCache = new BoundedCache<References>(4, 60_000);

async function referencesAt(generation: number | null): Promise<References> {
	const key = String(generation);
	const found = generation === null ? undefined : referenceCache.get(key);
	if (found) return found;
	const refs = await loadReferences(getDb());
	if (generation !== null) referenceCache.set(key, refs);
	return refs;
}

function pageKey(page: documents.PageRequest): string {
	const cursor = documents.decodeCursor(page.cursor);
	return `page:${page.limit ?? documents.PAGE_SIZE}:${cursor ? JSON.stringify(cursor) : 'first'}`;
}

/**
 * A page of the list: the ids chosen by `documents.list` are cached with the counts (same key),
 * and a cached page is read again by primary key with the whole WHERE clause applied once more.
 */
async function cachedListPage(
	generation: number | null,
	access: Access,
	filters: documents.DocumentFilters,
	page: documents.PageRequest
): Promise<documents.ListPage> {
	const db = getDb();
	const what = pageKey(page);
	let fresh: documents.ListPage | undefined;
	const { value, hit } = await cached(generation, what, access, filters, async () => {
		fresh = await documents.list(db, access, filters, page);
		return { ids: fresh.items.map((i) => i.id), nextCursor: fresh.nextCursor };
	});
	if (fresh) return fresh;
	if (hit) {
		// On the lookups pool: the re-read's generic plan is safe (see `buildPageReread`), so it is
		// not planned again on every request.
		const items = await documents.listItemsByIds(getLookupDb(), access, filters, value.ids);
		if (items) return { items, nextCursor: value.nextCursor };
	}
	return documents.list(db, access, filters, page);
}

export async function listPage(ctx: VaultContext, input: ListInput) {
	const db = getDb();
	const generation = await generationOf(ctx);
	const refs = await referencesAt(generation);
	const filters = filtersOf(ctx, refs, input);
	const access = ctx.reader.access;
	const request = { cursor: input.cursor };
	let page: documents.ListPage;
	let facets: documents.Facets;
	if (
		filters.q !== undefined &&
		documents.decodeCursor(input.cursor) === null &&
		!isCached(generation, 'facets', access, filters)
	) {
		// A new search: rank the matches and count them in one read.
		({ page, facets } = await documents.searchFirstPage(db, access, filters));
		store(generation, 'facets', access, filters, facets);
		store(generation, pageKey(request), access, filters, {
			ids: page.items.map((i) => i.id),
			nextCursor: page.nextCursor
		});
	} else {
		[page, { value: facets }] = await Promise.all([
			cachedListPage(generation, access, filters, request),
			cached(generation, 'facets', access, filters, () => documents.facets(db, access, filters))
		]);
	}
	const total = facets.total;
	const searching = filters.q !== undefined;
	await audit.record({
		...ctx.audit,
		action: searching ? 'document.search' : 'document.list',
		outcome: 'allowed',
		target: null,
		details: {
			q: filters.q ?? null,
			filters: { ...input, q: undefined, cursor: undefined },
			page: input.cursor ? 'next' : 'first',
			total,
			returned: page.items.length,
			documentIds: page.items.map((i) => i.id)
		}
	});
	const locale = ctx.locale;
	const counted = (value: string, count: number): FacetCount => ({ value, count });
	const compartmentCode = (id: number) =>
		refs.compartments.find((c) => c.id === id)?.code ?? String(id);
	return {
		items: page.items.map((item) => entryOf(item, refs, locale)),
		nextCursor: page.nextCursor,
		total,
		facets: {
			levels: facets.levels.map((f) => counted(String(f.rank), f.count)),
			compartments: facets.compartments.map((f) => counted(compartmentCode(f.id), f.count)),
			originators: facets.originators.map((f) => counted(orgCode(refs, f.id), f.count)),
			kinds: facets.kinds.map((f) => counted(f.kind, f.count)),
			statuses: facets.statuses.map((f) => counted(f.status, f.count)),
			tags: facets.tags.map((f) => counted(f.tag, f.count))
		},
		options: {
			levels: refs.levels.map((l) => ({ value: String(l.rank), label: levelName(l, locale) })),
			// Codewords are need-to-know: a reader is offered (and shown the names of) only the
			// compartments they are read into. Any other would match nothing they may read anyway.
			compartments: refs.compartments
				.filter((c) => access.compartmentIds.includes(c.id))
				.map((c) => ({
					value: c.code,
					label: `${c.code} — ${locale === 'ja' ? c.nameJa : c.nameEn}`
				})),
			originators: refs.organisations.map((o) => ({
				value: o.code,
				label: `${o.code} — ${locale === 'ja' ? o.nameJa : o.nameEn}`
			}))
		}
	};
}

/** Autocomplete: titles of readable documents, audited as a search like any other. */
export async function suggestions(ctx: VaultContext, q: string) {
	const found = await documents.suggest(getDb(), ctx.reader.access, q);
	await audit.record({
		...ctx.audit,
		action: 'document.search',
		outcome: 'allowed',
		details: { q, kind: 'suggest', returned: found.length, documentIds: found.map((f) => f.id) }
	});
	return found;
}

/** The document page, after `requireReadable`. */
export async function documentPage(ctx: VaultContext, doc: Document) {
	const db = getDb();
	const [refs, history, active, author] = await Promise.all([
		loadReferences(db),
		documents.versions(db, ctx.reader.access, doc.id),
		documents.activeVersion(db, doc.id),
		documents.authorName(db, doc.authorId)
	]);
	let memoHtml: string | null = null;
	if (doc.kind === 'memo' && active) {
		const markdown = await readMemo(active);
		memoHtml = markdown === null ? null : renderMarkdown(markdown);
	}
	await audit.record({
		...ctx.audit,
		action: 'document.view',
		outcome: 'allowed',
		target: { type: 'document', id: doc.id },
		details: { documentId: doc.id, title: doc.title, version: active?.number ?? null }
	});
	const locale = ctx.locale;
	const compartments = refs.compartments
		.filter((c) => doc.compartmentIds.includes(c.id))
		.map((c) => ({ code: c.code, name: locale === 'ja' ? c.nameJa : c.nameEn }));
	const release = refs.organisations
		.filter((o) => doc.releaseOrgIds.includes(o.id))
		.map((o) => ({ code: o.code, name: locale === 'ja' ? o.nameJa : o.nameEn }));
	const originator = refs.organisations.find((o) => o.id === doc.originatorOrgId);
	return {
		document: {
			id: doc.id,
			kind: doc.kind,
			title: doc.title,
			summary: doc.summary,
			status: doc.status,
			tags: doc.tags,
			reviewOn: doc.reviewOn,
			createdAt: doc.createdAt,
			updatedAt: doc.updatedAt,
			levelRank: doc.levelRank,
			authorName: author,
			originator: originator
				? { code: originator.code, name: locale === 'ja' ? originator.nameJa : originator.nameEn }
				: null,
			compartments,
			release
		},
		marking: markingOf(doc, refs, locale),
		isAuthor: doc.authorId === ctx.reader.access.accountId,
		active: active
			? {
					number: active.number,
					contentType: active.contentType,
					fileName: active.fileName,
					size: active.size,
					sha256: active.sha256
				}
			: null,
		versions: history.map((v) => ({
			number: v.number,
			size: v.size,
			sha256: v.sha256,
			contentType: v.contentType,
			fileName: v.fileName,
			note: v.note,
			createdAt: v.createdAt,
			createdByName: v.createdByName
		})),
		memoHtml
	};
}

export { recordView };

/** The Markdown of the author's memo for the edit form: a read like any other, audited first. */
export async function memoSource(ctx: VaultContext, doc: Document): Promise<string> {
	const active = await documents.activeVersion(getDb(), doc.id);
	await recordView(ctx.audit, doc, 'edit', active?.number ?? null);
	if (!active) return '';
	return (await readMemo(active)) ?? '';
}

/**
 * The choices a writer's forms offer: levels up to their own, compartments they hold, and the
 * organisations the write rule lets them name. The actions check again; this is only the offer.
 */
export async function writeOptions(ctx: VaultContext) {
	const refs = await loadReferences(getDb());
	const { access, homeOrgId } = ctx.reader;
	const locale = ctx.locale;
	const liaison = isLiaisonOnly(ctx.reader) || access.organisationId !== homeOrgId;
	const orgOption = (o: References['organisations'][number]) => ({
		value: o.code,
		label: `${o.code} — ${locale === 'ja' ? o.nameJa : o.nameEn}`
	});
	const own = refs.organisations.find((o) => o.id === access.organisationId);
	const home = refs.organisations.find((o) => o.id === homeOrgId);
	return {
		levels: refs.levels
			.filter((l) => l.rank <= access.level)
			.map((l) => ({ value: String(l.rank), label: levelName(l, locale) })),
		compartments: refs.compartments
			.filter((c) => access.compartmentIds.includes(c.id))
			.map((c) => ({
				value: c.code,
				label: `${c.code} — ${locale === 'ja' ? c.nameJa : c.nameEn}`
			})),
		release: liaison
			? refs.organisations
					.filter((o) => o.id === access.organisationId || o.id === homeOrgId)
					.map(orgOption)
			: refs.organisations.map(orgOption),
		/** Always released to these; the form shows them checked and fixed. */
		requiredRelease: [own?.code, liaison ? home?.code : undefined].filter((c): c is string => !!c),
		originators: liaison ? (own ? [orgOption(own)] : []) : refs.organisations.map(orgOption),
		defaultOriginator: own?.code ?? '',
		liaison
	};
}

/**
 * Form codes to ids, for a writer who holds `heldCompartmentIds`. A compartment code is looked up
 * among those alone, and any other (another programme's codeword or no codeword at all) is the
 * write rule's refusal, `compartment`, thrown for `attempt` to audit: codewords are need-to-know,
 * so an unknown code must answer exactly as one the writer is not read into. Unknown
 * organisation codes (which are no secret) give null, a form that cannot be right.
 */
export async function idsOf(
	input: { compartments: string[]; release: string[]; originator?: string },
	heldCompartmentIds: readonly number[]
) {
	const refs = await loadReferences(getDb());
	const held = refs.compartments.filter((c) => heldCompartmentIds.includes(c.id));
	const compartmentIds = input.compartments.map((code) => held.find((c) => c.code === code)?.id);
	if (compartmentIds.includes(undefined)) throw new WriteRefusedError('compartment');
	const releaseOrgIds = input.release.map(
		(code) => refs.organisations.find((o) => o.code === code)?.id
	);
	const originatorOrgId =
		input.originator === undefined
			? undefined
			: refs.organisations.find((o) => o.code === input.originator)?.id;
	if (releaseOrgIds.includes(undefined)) return null;
	if (input.originator !== undefined && originatorOrgId === undefined) return null;
	return {
		compartmentIds: compartmentIds as number[],
		releaseOrgIds: releaseOrgIds as number[],
		originatorOrgId
	};
}

export type WriteOutcome<T> =
	{ ok: true; value: T } | { ok: false; status: 403 | 404 | 409; reason: string };

/**
 * Runs a write. A refusal by the write rule is audited as a denial (with its reason) and
 * returned for the form to show; a document that went unreadable meanwhile is a 404.
 */
export async function attempt<T>(
	ctx: VaultContext,
	action: AuditAction,
	documentId: number | null,
	run: () => Promise<T>
): Promise<WriteOutcome<T>> {
	try {
		return { ok: true, value: await run() };
	} catch (error) {
		if (error instanceof WriteRefusedError || error instanceof DocumentNotFoundError) {
			const reason = error instanceof WriteRefusedError ? error.reason : 'not_found';
			await audit.record({
				...ctx.audit,
				action: 'document.denied',
				outcome: 'denied',
				target: documentId === null ? null : { type: 'document', id: documentId },
				details: { reason: `write:${reason}`, attempted: action, documentId }
			});
			if (error instanceof DocumentNotFoundError) return { ok: false, status: 404, reason };
			return { ok: false, status: reason === 'status' ? 409 : 403, reason };
		}
		throw error;
	}
}

/** The home page panel: recent readable documents and counts. */
export async function homePanel(ctx: VaultContext) {
	const db = getDb();
	const access = ctx.reader.access;
	const generation = await generationOf(ctx);
	const drafts: documents.DocumentFilters = { status: 'draft', authorId: access.accountId };
	const [refs, recent, total, draftCount] = await Promise.all([
		referencesAt(generation),
		cachedListPage(generation, access, {}, { limit: 5 }),
		cached(generation, 'count', access, {}, () => documents.count(db, access, {})),
		cached(generation, 'count', access, drafts, () => documents.count(db, access, drafts))
	]);
	return {
		total: total.value,
		drafts: draftCount.value,
		items: recent.items.map((item) => entryOf(item, refs, ctx.locale))
	};
}

/** A document's classification as form values (codes) and its marking, for the reclassify form. */
export async function classificationCodes(ctx: VaultContext, doc: Document) {
	const refs = await loadReferences(getDb());
	return {
		marking: markingOf(doc, refs, ctx.locale),
		compartments: refs.compartments
			.filter((c) => doc.compartmentIds.includes(c.id))
			.map((c) => c.code),
		release: refs.organisations.filter((o) => doc.releaseOrgIds.includes(o.id)).map((o) => o.code)
	};
}
