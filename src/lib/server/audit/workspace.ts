import { and, asc, desc, eq, gt, inArray, lt, sql, type SQL } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import { isLocalTime, type AuditFilter } from '$lib/schemas/audit';
import { effectiveAccess, grantValidAt, readableSql, type Access } from '../access';
import type { SessionUser } from '../auth/types';
import { getConfig } from '../config';
import { csvCell } from '../csv';
import { getDb, queryRows, toNumber } from '../db';
import {
	account,
	auditEvent,
	compartment,
	document,
	grant,
	level,
	organisation
} from '../db/schema';
import type { AuditContext } from './append';
import { record } from './index';
import { occurredAtText } from './chain';
import { verifyLog } from './integrity';
import type { VerifyReport } from './verify';
import { zoneOffsetMs } from '../time-zone';

/**
 * The auditor's workspace: reading, filtering and exporting the log, the access review and
 * verification. Auditors read no document content they are not cleared for: the details of an
 * event about a document the auditor's own access would not let them read (checked inside SQL)
 * keep only metadata (ids, levels, versions, reason codes, sizes, hashes); its title, summary,
 * tags, file names and free-text reasons are withheld, everywhere details are shown.
 */

export const PAGE_SIZE = 50;

export interface AuditEventView {
	seq: number;
	occurredAt: string;
	actorId: number | null;
	actorName: string | null;
	actorRoles: string[];
	ip: string | null;
	userAgent: string | null;
	requestId: string | null;
	action: string;
	targetType: string | null;
	targetId: string | null;
	outcome: 'allowed' | 'denied' | 'failed';
	/**
	 * The details as stored (content withheld as above): a JSON object, unless someone altered
	 * the row in the database, in which case it is whatever they left (null, a string...).
	 */
	details: unknown;
	/** The document the event concerns; title null when the auditor may not read it. */
	document: { id: number; title: string | null } | null;
	prevHash: string;
	hash: string;
}

export type RestrictedLabel = (documentId: number) => string;

const columns = {
	seq: auditEvent.seq,
	occurredAt: sql<string>`${occurredAtText}`,
	actorId: auditEvent.actorId,
	actorName: auditEvent.actorName,
	actorRoles: auditEvent.actorRoles,
	ip: auditEvent.ip,
	userAgent: auditEvent.userAgent,
	requestId: auditEvent.requestId,
	action: auditEvent.action,
	targetType: auditEvent.targetType,
	targetId: auditEvent.targetId,
	outcome: auditEvent.outcome,
	details: auditEvent.details,
	prevHash: auditEvent.prevHash,
	hash: auditEvent.hash
};
type Row = Omit<AuditEventView, 'document'>;

/** The details as an object to read fields from; empty when a row was altered into something else. */
function fieldsOf(details: unknown): Record<string, unknown> {
	return details !== null && typeof details === 'object' && !Array.isArray(details)
		? (details as Record<string, unknown>)
		: {};
}

/**
 * A wall-clock time typed by the reader (`YYYY-MM-DD` or `YYYY-MM-DDTHH:MM[:SS]`, a real date
 * and time as `auditFilterSchema` checks), in their time zone, as a UTC instant; `addDays`
 * moves the wall-clock date first (the next day's midnight, whatever its length).
 */
export function zonedToUtc(local: string, timeZone: string, addDays = 0): Date {
	// Refused rather than rolled over (2026-02-31 is not 3 March).
	if (!isLocalTime(local)) throw new RangeError(`Not a real date and time: ${local}`);
	const [day = '', time = '00:00'] = local.split('T');
	const [year, month, date] = day.split('-').map(Number);
	const [hour, minute, second = 0] = time.split(':').map(Number);
	const wall = new Date(Date.UTC(year!, month! - 1, date! + addDays, hour!, minute!, second));
	const first = new Date(wall.getTime() - zoneOffsetMs(wall.getTime(), timeZone));
	const offset = zoneOffsetMs(first.getTime(), timeZone);
	return new Date(wall.getTime() - offset);
}

export function readerTimeZone(viewer: SessionUser): string {
	return viewer.timeZone ?? getConfig().displayTimeZone;
}

const NO_SEQ = sql`9223372036854775807`;

/**
 * Time bounds become sequence bounds: times come from the database clock under the chain lock,
 * so they rise with the sequence, and one index probe replaces a range scan at any table size.
 */
function firstSeqAtOrAfter(at: Date): SQL {
	// Past the year 9999 (the end of 9999-12-31 in a zone behind UTC): no event yet.
	if (at.getUTCFullYear() > 9999) return NO_SEQ;
	return sql`coalesce((select ${auditEvent.seq} from ${auditEvent}
		where ${auditEvent.occurredAt} >= ${at.toISOString()}::timestamptz
		order by ${auditEvent.occurredAt}, ${auditEvent.seq} limit 1), ${NO_SEQ})`;
}

function conditions(filter: AuditFilter, timeZone: string): SQL[] {
	const where: SQL[] = [];
	if (filter.person !== undefined) where.push(eq(auditEvent.actorId, filter.person));
	if (filter.document !== undefined) {
		const id = String(filter.document);
		where.push(
			sql`((${auditEvent.targetType} = 'document' and ${auditEvent.targetId} = ${id})
				or ${auditEvent.details} ->> 'documentId' = ${id})`
		);
	}
	if (filter.action !== undefined) where.push(eq(auditEvent.action, filter.action));
	if (filter.outcome !== undefined) where.push(eq(auditEvent.outcome, filter.outcome));
	if (filter.ip !== undefined) where.push(eq(auditEvent.ip, filter.ip));
	if (filter.from !== undefined) {
		where.push(sql`${auditEvent.seq} >= ${firstSeqAtOrAfter(zonedToUtc(filter.from, timeZone))}`);
	}
	if (filter.to !== undefined) {
		// A bare date means the whole of that day.
		const end = zonedToUtc(filter.to, timeZone, filter.to.includes('T') ? 0 : 1);
		where.push(sql`${auditEvent.seq} < ${firstSeqAtOrAfter(end)}`);
	}
	return where;
}

/**
 * A document id as the documents table can hold one. Events keep what was asked for (a guessed
 * id of ten digits included): anything a document id cannot be names no document.
 */
function asDocumentId(value: unknown): number | null {
	const id = typeof value === 'string' && /^\d{1,10}$/.test(value) ? Number(value) : value;
	return typeof id === 'number' && Number.isInteger(id) && id > 0 && id <= 2_147_483_647
		? id
		: null;
}

/**
 * The documents an event is about (a `documentId` anywhere in its details, or a document as its
 * target) and those it merely lists (`documentIds`: the results of a list, a search or an
 * autocomplete, whose text matched them).
 */
function documentIdsOf(row: Row): { about: number[]; listed: number[] } {
	const about = new Set<number>();
	const listed = new Set<number>();
	const add = (into: Set<number>, value: unknown) => {
		const id = asDocumentId(value);
		if (id !== null) into.add(id);
	};
	const visit = (value: unknown) => {
		if (Array.isArray(value)) value.forEach(visit);
		else if (value && typeof value === 'object') {
			for (const [k, v] of Object.entries(value)) {
				if (k === 'documentId') add(about, v);
				else if (k === 'documentIds' && Array.isArray(v)) v.forEach((id) => add(listed, id));
				else visit(v);
			}
		}
	};
	visit(row.details);
	if (row.targetType === 'document') add(about, row.targetId);
	return { about: [...about], listed: [...listed] };
}

/**
 * The keys of details that describe an event without quoting a document: ids, classification
 * (level, compartments, release), versions, status and kind, sizes, hashes and content types,
 * what was attempted and how (action, method, the requested path: ids only), reason codes, and
 * `before`/`after`, whose own keys pass the same test. Anything else (title, summary, tags,
 * fileName, a version note, and every key added later until it is listed here) is withheld.
 */
const METADATA_KEYS = new Set([
	'documentId',
	'documentIds',
	'accountId',
	'grantId',
	'compartmentId',
	'compartmentIds',
	'releaseOrgIds',
	'originatorOrgId',
	'organisationId',
	'level',
	'levelRank',
	'version',
	'previousVersion',
	'currentVersion',
	'earlierVersions',
	'earlierVersionsStricter',
	// Which part of a version's own marking kept the reader out: a code (`level`, `release`).
	'marking',
	'status',
	'kind',
	'size',
	'sha256',
	'contentType',
	'limit',
	'range',
	'total',
	'returned',
	'source',
	'purpose',
	'attempted',
	'method',
	'path',
	'reason',
	'before',
	'after'
]);
/** A reason code (`level`, `write:not_author`); anything else in `reason` is free text. */
const REASON_CODE = /^[a-z][a-z0-9_.:-]{0,63}$/;
/** Actions whose `reason` is the writer's own words, never a code. */
const FREE_TEXT_REASON = new Set(['document.reclassify']);

/** The details with every document-content field replaced by `label`. */
function withholdContent(action: string, details: unknown, label: string): unknown {
	const visit = (value: unknown, key: string | null): unknown => {
		if (value === null || value === undefined) return value;
		if (Array.isArray(value)) return value.map((v) => visit(v, key));
		if (typeof value === 'object') {
			return Object.fromEntries(
				Object.entries(value).map(([k, v]) => [
					k,
					METADATA_KEYS.has(k) || v === null ? visit(v, k) : label
				])
			);
		}
		if (typeof value !== 'string') return value;
		// A string left as the whole of the details (an altered row) could be anything.
		if (key === null) return label;
		if (key === 'reason') {
			return !FREE_TEXT_REASON.has(action) && REASON_CODE.test(value) ? value : label;
		}
		return value;
	};
	return visit(details, null);
}

/** Titles of the documents the reader may read, among these ids; the rule applied in SQL. */
async function readableTitles(access: Access | null, ids: number[]): Promise<Map<number, string>> {
	const real = ids.filter((id) => asDocumentId(id) !== null);
	if (!access || real.length === 0) return new Map();
	const rows = await getDb()
		.select({ id: document.id, title: document.title })
		.from(document)
		.where(and(inArray(document.id, real), readableSql(access)));
	return new Map(rows.map((r) => [r.id, r.title]));
}

async function present(
	access: Access | null,
	rows: Row[],
	restricted: RestrictedLabel
): Promise<AuditEventView[]> {
	const idsByRow = rows.map(documentIdsOf);
	const titles = await readableTitles(access, [
		...new Set(idsByRow.flatMap(({ about, listed }) => [...about, ...listed]))
	]);
	return rows.map((row, i) => {
		const { about, listed } = idsByRow[i]!;
		const fields = fieldsOf(row.details);
		const main = asDocumentId(fields.documentId) ?? about[0];
		const seq = Number(row.seq);
		// A search whose results include a document the auditor may not read quotes text that
		// matched it (an autocomplete's, its title): withheld like the content of an event about it.
		const hidden = [...about, ...listed].find((id) => !titles.has(id));
		if (hidden !== undefined) {
			return {
				...row,
				seq,
				details: withholdContent(row.action, row.details, restricted(hidden)),
				document: main === undefined ? null : { id: main, title: null }
			};
		}
		if (main === undefined) return { ...row, seq, document: null };
		const stored = fields.title;
		return {
			...row,
			seq,
			document: { id: main, title: typeof stored === 'string' ? stored : titles.get(main)! }
		};
	});
}

export interface EventPage {
	events: AuditEventView[];
	/** Cursor for the next (older) page, or null at the start of the log. */
	next: number | null;
}

export async function listEvents(
	viewer: SessionUser,
	filter: AuditFilter,
	before: number | undefined,
	restricted: RestrictedLabel
): Promise<EventPage> {
	const db = getDb();
	const where = conditions(filter, readerTimeZone(viewer));
	if (before !== undefined) where.push(lt(auditEvent.seq, before));
	const rows = await db
		.select(columns)
		.from(auditEvent)
		.where(and(...where))
		.orderBy(desc(auditEvent.seq))
		.limit(PAGE_SIZE + 1);
	const page = rows.slice(0, PAGE_SIZE);
	const access = await effectiveAccess(db, viewer.id);
	return {
		events: await present(access, page, restricted),
		next: rows.length > PAGE_SIZE ? Number(page.at(-1)!.seq) : null
	};
}

export async function getEvent(
	viewer: SessionUser,
	seq: number,
	restricted: RestrictedLabel
): Promise<AuditEventView | null> {
	const db = getDb();
	const rows = await db.select(columns).from(auditEvent).where(eq(auditEvent.seq, seq));
	if (rows.length === 0) return null;
	const [view] = await present(await effectiveAccess(db, viewer.id), rows, restricted);
	return view ?? null;
}

/** The document's title for a history page header, only if the auditor may read it. */
export async function documentTitle(viewer: SessionUser, id: number): Promise<string | null> {
	const titles = await readableTitles(await effectiveAccess(getDb(), viewer.id), [id]);
	return titles.get(id) ?? null;
}

export interface PersonSummary {
	id: number;
	displayName: string;
	email: string;
	organisation: string;
	roles: string[];
	status: string;
}

export async function getPerson(id: number): Promise<PersonSummary | null> {
	const [row] = await getDb()
		.select({
			id: account.id,
			displayName: account.displayName,
			email: account.email,
			organisation: organisation.code,
			roles: account.roles,
			status: account.status
		})
		.from(account)
		.innerJoin(organisation, eq(organisation.id, account.organisationId))
		.where(eq(account.id, id));
	return row ?? null;
}

/** People to pick from in the filter. */
export async function listPeople(): Promise<{ id: number; displayName: string }[]> {
	return getDb()
		.select({ id: account.id, displayName: account.displayName })
		.from(account)
		.orderBy(asc(account.displayName), asc(account.id));
}

export interface ReviewRow {
	accountId: number;
	displayName: string;
	email: string;
	organisation: string;
	roles: string[];
	grantId: number | null;
	kind: 'level' | 'compartment' | null;
	levelCode: string | null;
	compartmentCode: string | null;
	reason: string | null;
	grantedBy: string | null;
	approvedBy: string | null;
	grantedAt: Date | null;
	validUntil: Date | null;
	expiringSoon: boolean;
}

/**
 * Who holds what now: every active account with each grant valid at this moment, who granted
 * and approved it, when, why and until when. `expiringOnly` keeps grants ending within 30 days.
 */
export async function accessReview(options: { expiringOnly?: boolean } = {}): Promise<ReviewRow[]> {
	const now = new Date();
	const soon = new Date(now.getTime() + 30 * 24 * 3600_000);
	const granter = alias(account, 'granter');
	const approver = alias(account, 'approver');
	const rows = await getDb()
		.select({
			accountId: account.id,
			displayName: account.displayName,
			email: account.email,
			organisation: organisation.code,
			roles: account.roles,
			grantId: grant.id,
			kind: grant.kind,
			levelCode: level.code,
			compartmentCode: compartment.code,
			reason: grant.reason,
			grantedBy: granter.displayName,
			approvedBy: approver.displayName,
			grantedAt: grant.grantedAt,
			validUntil: grant.validUntil
		})
		.from(account)
		.innerJoin(organisation, eq(organisation.id, account.organisationId))
		.leftJoin(grant, and(eq(grant.accountId, account.id), grantValidAt(now)))
		.leftJoin(level, eq(level.rank, grant.levelRank))
		.leftJoin(compartment, eq(compartment.id, grant.compartmentId))
		.leftJoin(granter, eq(granter.id, grant.grantedBy))
		.leftJoin(approver, eq(approver.id, grant.approvedBy))
		.where(
			and(
				eq(account.status, 'active'),
				options.expiringOnly
					? sql`${grant.validUntil} is not null and ${grant.validUntil} < ${soon.toISOString()}::timestamptz`
					: undefined
			)
		)
		.orderBy(asc(account.displayName), asc(account.id), asc(grant.kind), asc(grant.id));
	return rows.map((r) => ({
		...r,
		expiringSoon: r.validUntil !== null && r.validUntil.getTime() < soon.getTime()
	}));
}

/** Records that an auditor looked at something; the view fails if this cannot be written. */
export async function recordView(
	context: AuditContext,
	page: string,
	details: Record<string, unknown> = {}
): Promise<void> {
	await record({
		...context,
		action: 'audit.viewed',
		outcome: 'allowed',
		details: { page, ...details }
	});
}

/** Runs verification and records who ran it and what it found. */
export async function verify(context: AuditContext): Promise<VerifyReport> {
	const report = await verifyLog();
	await record({
		...context,
		action: 'audit.verified',
		outcome: 'allowed',
		details: {
			ok: report.ok,
			events: report.events,
			headSeq: report.headSeq,
			problems: report.problems.length,
			firstFailure: report.firstFailure
				? { kind: report.firstFailure.kind, seq: report.firstFailure.seq }
				: null
		}
	});
	return report;
}

export type ExportFormat = 'csv' | 'jsonl';

const CSV_COLUMNS = [
	'seq',
	'occurred_at',
	'actor_id',
	'actor_name',
	'actor_roles',
	'ip',
	'user_agent',
	'request_id',
	'action',
	'target_type',
	'target_id',
	'outcome',
	'document_id',
	'document_title',
	'details',
	'prev_hash',
	'hash'
] as const;

function csvLine(e: AuditEventView, restricted: RestrictedLabel): string {
	const cells = [
		e.seq,
		e.occurredAt,
		e.actorId,
		e.actorName,
		e.actorRoles.join(' '),
		e.ip,
		e.userAgent,
		e.requestId,
		e.action,
		e.targetType,
		e.targetId,
		e.outcome,
		e.document?.id,
		e.document ? (e.document.title ?? restricted(e.document.id)) : null,
		JSON.stringify(e.details),
		e.prevHash,
		e.hash
	];
	return cells.map(csvCell).join(',') + '\r\n';
}

/**
 * Records the export (committed before anything is sent), then streams the filtered events in
 * sequence order, a batch at a time, as CSV (UTF-8 with BOM, for Excel in Japanese) or JSON Lines.
 */
export async function exportEvents(
	context: AuditContext,
	viewer: SessionUser,
	filter: AuditFilter,
	format: ExportFormat,
	restricted: RestrictedLabel
): Promise<ReadableStream<Uint8Array>> {
	const db = getDb();
	// The filter's times are the auditor's wall-clock times: the record names their zone, so
	// that the evidence says which range was exported.
	const timeZone = readerTimeZone(viewer);
	await record({
		...context,
		action: 'audit.exported',
		outcome: 'allowed',
		details: { format, filter, timeZone }
	});
	const access = await effectiveAccess(db, viewer.id);
	const where = conditions(filter, timeZone);
	const [head] = await queryRows<{ head: unknown }>(
		db,
		sql`select coalesce(max(${auditEvent.seq}), 0) as head from ${auditEvent}`
	);
	const last = toNumber(head?.head ?? 0);
	const encoder = new TextEncoder();
	let after = 0;
	let started = false;
	return new ReadableStream<Uint8Array>({
		async pull(controller) {
			if (!started) {
				started = true;
				if (format === 'csv') {
					controller.enqueue(encoder.encode('\uFEFF' + CSV_COLUMNS.join(',') + '\r\n'));
					return;
				}
			}
			const rows = await db
				.select(columns)
				.from(auditEvent)
				.where(and(...where, gt(auditEvent.seq, after), sql`${auditEvent.seq} <= ${last}`))
				.orderBy(asc(auditEvent.seq))
				.limit(1000);
			if (rows.length === 0) {
				controller.close();
				return;
			}
			after = Number(rows.at(-1)!.seq);
			const views = await present(access, rows, restricted);
			const chunk = views
				.map((v) => (format === 'csv' ? csvLine(v, restricted) : JSON.stringify(v) + '\n'))
				.join('');
			controller.enqueue(encoder.encode(chunk));
		}
	});
}

export interface AuditPanelData {
	eventsLast24h: number;
	recentDenials: AuditEventView[];
	lastVerification: { occurredAt: string; ok: boolean; actorName: string | null } | null;
	lastCheckpoint: { occurredAt: string; seq: number } | null;
}

/** The auditor's home panel: activity, recent denials, the last verification and checkpoint. */
export async function panel(
	viewer: SessionUser,
	restricted: RestrictedLabel
): Promise<AuditPanelData> {
	const db = getDb();
	const since = new Date(Date.now() - 24 * 3600_000);
	const [counts] = await queryRows<{ head: unknown; first: unknown }>(
		db,
		sql`select coalesce(max(${auditEvent.seq}), 0) as head, ${firstSeqAtOrAfter(since)} as first
			from ${auditEvent}`
	);
	const head = toNumber(counts?.head ?? 0);
	const first = toNumber(counts?.first ?? 0);
	const denials = await db
		.select(columns)
		.from(auditEvent)
		.where(eq(auditEvent.outcome, 'denied'))
		.orderBy(desc(auditEvent.seq))
		.limit(5);
	const latest = async (action: string, condition?: SQL) => {
		const [row] = await db
			.select(columns)
			.from(auditEvent)
			.where(and(eq(auditEvent.action, action), condition))
			.orderBy(desc(auditEvent.seq))
			.limit(1);
		return row;
	};
	const verified = await latest('audit.verified');
	// The last checkpoint record that still says which event it signed (an altered one does not;
	// verification names it).
	const checkpoint = await latest(
		'audit.checkpoint_written',
		sql`jsonb_typeof(${auditEvent.details} -> 'checkpointSeq') = 'number'`
	);
	return {
		eventsLast24h: first > head ? 0 : head - first + 1,
		recentDenials: await present(await effectiveAccess(db, viewer.id), denials, restricted),
		lastVerification: verified
			? {
					occurredAt: verified.occurredAt,
					ok: fieldsOf(verified.details).ok === true,
					actorName: verified.actorName
				}
			: null,
		lastCheckpoint: checkpoint
			? {
					occurredAt: checkpoint.occurredAt,
					seq: Number(fieldsOf(checkpoint.details).checkpointSeq)
				}
			: null
	};
}
