import { and, eq, isNull, or, sql, type AnyColumn, type SQL } from 'drizzle-orm';
import type { Executor } from '../db';
import { account, document, documentVersion, grant } from '../db/schema';

/**
 * THE access rule. A reader's access at a moment, and whether a document is readable by it.
 * The same rule exists twice, as a pure function and as an SQL predicate; a test proves they
 * agree on every combination of a small universe. Nothing else in the code decides reads. Its
 * marking part also decides which of a readable document's versions may be read, each under
 * the marking of its own.
 */
export interface Access {
	accountId: number;
	organisationId: number;
	level: number;
	compartmentIds: number[];
}

/** What a document, or one of its versions, is marked: level, compartments, releasability. */
export interface Marked {
	levelRank: number;
	compartmentIds: number[];
	releaseOrgIds: number[];
}

export interface Classified extends Marked {
	status: string;
	authorId: number;
}

/**
 * Bell-LaPadula "no read up" plus need-to-know plus releasability, on a marking alone: the part
 * of the rule a document's versions are held to as well (each carries a marking of its own).
 */
export function canReadMarking(access: Access, marked: Marked): boolean {
	return (
		access.level >= marked.levelRank &&
		marked.compartmentIds.every((id) => access.compartmentIds.includes(id)) &&
		marked.releaseOrgIds.includes(access.organisationId)
	);
}

/** The marking's rule, and drafts for the author only. */
export function canRead(access: Access, doc: Classified): boolean {
	return (
		canReadMarking(access, doc) && (doc.status !== 'draft' || doc.authorId === access.accountId)
	);
}

/** Integers as an SQL `integer[]` value, each bound as a parameter. */
export function intArray(values: number[]): SQL {
	// Values are integers from the database, never from the request; still bound as parameters.
	const safe = values.map((v) => {
		if (!Number.isSafeInteger(v)) throw new TypeError('Access ids must be integers');
		return v;
	});
	return safe.length === 0
		? sql`'{}'::integer[]`
		: sql`array[${sql.join(
				safe.map((v) => sql`${v}`),
				sql`, `
			)}]::integer[]`;
}

/** The marking columns of a table that carries one (`document`, `document_version`). */
interface MarkingColumns {
	levelRank: AnyColumn;
	compartmentIds: AnyColumn;
	releaseOrgIds: AnyColumn;
}

/** The same rule as `canReadMarking`, on the marking columns of `marked`. */
function markingReadableSql(access: Access, marked: MarkingColumns): SQL {
	return sql`${marked.levelRank} <= ${access.level}
		and ${marked.compartmentIds} <@ ${intArray(access.compartmentIds)}
		and ${marked.releaseOrgIds} @> ${intArray([access.organisationId])}`;
}

/** The same rule as `canRead`, for the WHERE clause of every document query. */
export function readableSql(access: Access): SQL {
	return sql`(${markingReadableSql(access, document)}
		and (${document.status} <> 'draft' or ${document.authorId} = ${access.accountId}))`;
}

/**
 * The same rule as `canReadMarking`, for the WHERE clause of every query of a document's
 * versions: a version is readable when its document is (`readableSql`, checked first) and its
 * own marking is too.
 */
export function versionReadableSql(access: Access): SQL {
	return sql`(${markingReadableSql(access, documentVersion)})`;
}

/**
 * A grant counts while valid_from <= at < valid_until and it is not revoked. Without `at`, "now"
 * is the database's clock: valid_from is written by it with microseconds, and a JavaScript Date
 * (milliseconds) taken just after a grant was made can be earlier than the grant's start.
 */
export function grantValidAt(at?: Date): SQL {
	const moment = at ? sql`${at.toISOString()}::timestamptz` : sql`clock_timestamp()`;
	return and(
		isNull(grant.revokedAt),
		sql`${grant.validFrom} <= ${moment}`,
		or(isNull(grant.validUntil), sql`${grant.validUntil} > ${moment}`)
	)!;
}

/**
 * The level and compartments `effectiveAccess` computes, as two scalar subqueries on the
 * account whose id is `accountId` (an SQL expression, such as a column of the outer query), for
 * callers that fold the access into a larger statement. Same grants, same validity, same result.
 */
export function accessSubqueries(accountId: SQL): { level: SQL; compartmentIds: SQL } {
	const valid = grantValidAt();
	return {
		level: sql`(select coalesce(max(${grant.levelRank}), 0) from ${grant}
			where ${grant.accountId} = ${accountId} and ${grant.kind} = 'level' and ${valid})`,
		compartmentIds: sql`array(select distinct ${grant.compartmentId} from ${grant}
			where ${grant.accountId} = ${accountId} and ${grant.kind} = 'compartment'
				and ${grant.compartmentId} is not null and ${valid}
			order by 1)`
	};
}

/**
 * Computed from the grants valid at `at`, on every request: a grant or revocation takes
 * effect on the next request, and expiry needs no background job. Every active account has
 * level 0 for its own organisation. Returns null for an account that is not active.
 */
export async function effectiveAccess(
	executor: Executor,
	accountId: number,
	at?: Date
): Promise<Access | null> {
	const [holder] = await executor
		.select({ organisationId: account.organisationId, status: account.status })
		.from(account)
		.where(eq(account.id, accountId));
	if (!holder || holder.status !== 'active') return null;
	const grants = await executor
		.select({ kind: grant.kind, levelRank: grant.levelRank, compartmentId: grant.compartmentId })
		.from(grant)
		.where(and(eq(grant.accountId, accountId), grantValidAt(at)));
	let level = 0;
	const compartmentIds = new Set<number>();
	for (const g of grants) {
		if (g.kind === 'level' && g.levelRank !== null) level = Math.max(level, g.levelRank);
		if (g.kind === 'compartment' && g.compartmentId !== null) compartmentIds.add(g.compartmentId);
	}
	return {
		accountId,
		organisationId: holder.organisationId,
		level,
		compartmentIds: [...compartmentIds].sort((a, b) => a - b)
	};
}
