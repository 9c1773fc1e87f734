import { eq, sql, type SQLWrapper } from 'drizzle-orm';
import { accessSubqueries } from '../access';
import type { SessionUser } from '../auth/types';
import { builtOnce, toNumber, type Executor } from '../db';
import * as sessions from '../auth/sessions';
import { account, organisation, session } from '../db/schema';
import { expiredDuring } from './expired-grants';
import type { Writer } from './write-rule';

/**
 * A signed-in person's access as of this request (computed from the grants valid now, so a
 * revocation counts on the very next request) together with their roles. Null for an account
 * that is no longer active.
 */
export async function readerOf(
	executor: Executor,
	user: Pick<SessionUser, 'id' | 'roles'>
): Promise<Writer | null> {
	return (await readerForRequest(executor, user, null)).reader;
}

export interface RequestReader {
	/** The person's access, roles and home organisation; null for an account no longer active. */
	reader: Writer | null;
	/** Whether a grant ended during the session and is not yet recorded (`recordExpiredGrants`). */
	grantsEnded: boolean;
	/** The vault's data generation (drizzle/0004), for the list cache; null if unreadable. */
	generation: number | null;
}

/**
 * What every vault request needs before its own work, in one statement: the person's access
 * (the same subqueries as `effectiveAccess`), the home organisation, whether a grant ended
 * during the session unrecorded, and the data generation. Each statement costs the server a
 * round trip and a socket write; a list request made five of them for this alone.
 */
export async function readerForRequest(
	executor: Executor,
	user: Pick<SessionUser, 'id' | 'roles'>,
	sessionStart: Date | null | undefined
): Promise<RequestReader> {
	const [row] = sessionStart
		? await readerSinceLookup(executor).execute({
				accountId: user.id,
				// As the column's encoder would send it (a placeholder skips the encoder).
				sessionStart: sessionStart.toISOString()
			})
		: await readerLookup(executor).execute({ accountId: user.id });
	return requestReaderOf(user, row && { ...row, ...row.reader });
}

function requestReaderOf(
	user: Pick<SessionUser, 'id' | 'roles'>,
	row: ({ organisationId: number; status: string } & ReaderFields) | undefined
): RequestReader {
	const generation =
		row?.generation === null || row?.generation === undefined ? null : toNumber(row.generation);
	if (!row || row.status !== 'active') return { reader: null, grantsEnded: false, generation };
	if (row.home === null || row.home === undefined) {
		throw new Error('No home organisation is configured');
	}
	return {
		reader: {
			access: {
				accountId: user.id,
				organisationId: row.organisationId,
				level: toNumber(row.level),
				compartmentIds: intList(row.compartmentIds)
			},
			roles: user.roles,
			homeOrgId: toNumber(row.home)
		},
		grantsEnded: row.ended === true || row.ended === 't',
		generation
	};
}

interface ReaderFields {
	level: unknown;
	compartmentIds: unknown;
	home: unknown;
	ended: unknown;
	generation: unknown;
}

/**
 * The reader's columns for a statement on `account` (and `session`, when `sessionStart` is the
 * session's own start): the same subqueries whether read alone or with the session.
 */
function readerColumns(executor: Executor, accountId: SQLWrapper, sessionStart?: SQLWrapper) {
	const { level, compartmentIds } = accessSubqueries(sql`${account.id}`);
	const ended = sessionStart
		? sql`exists(${expiredDuring(executor, accountId, sessionStart)})`
		: sql`false`;
	return {
		level: sql<unknown>`${level}`,
		compartmentIds: sql<unknown>`${compartmentIds}`,
		home: sql<unknown>`(select ${organisation.id} from ${organisation} where ${organisation.isHome}
			order by ${organisation.id} limit 1)`,
		ended: sql<unknown>`${ended}`,
		generation: sql<unknown>`(select generation from vault_generation where id = 1)`
	};
}

/** The statement of `readerForRequest`, with or without the check on grants ended in session. */
function buildReaderLookup(executor: Executor, sinceSessionStart: boolean) {
	const accountId = sql.placeholder('accountId');
	return executor
		.select({
			organisationId: account.organisationId,
			status: account.status,
			reader: readerColumns(
				executor,
				accountId,
				sinceSessionStart ? sql.placeholder('sessionStart') : undefined
			)
		})
		.from(account)
		.where(eq(account.id, accountId))
		.prepare(sinceSessionStart ? 'reader_since_lookup' : 'reader_lookup');
}

const readerLookup = builtOnce((executor) => buildReaderLookup(executor, false));
const readerSinceLookup = builtOnce((executor) => buildReaderLookup(executor, true));

/**
 * The session lookup of every request with the reader's columns added (`sessions.validate`'s
 * `lookup`), so that a vault request reads its session and its reader in one statement: the
 * grants ended "during the session" are those after this session's own start.
 */
const sessionAndReader = builtOnce((executor) =>
	executor
		.select({
			...sessions.sessionLookupColumns,
			reader: readerColumns(executor, account.id, session.createdAt)
		})
		.from(session)
		.innerJoin(account, eq(account.id, session.accountId))
		.where(eq(session.id, sql.placeholder('id')))
		.limit(1)
		.prepare('session_reader_lookup')
);

export const lookupSessionWithReader = (executor: Executor, id: string) =>
	sessionAndReader(executor).execute({ id });

/** The reader's columns as `lookupSessionWithReader` read them, with whose they are. */
export interface SessionReaderColumns {
	accountId: number;
	reader: ReaderFields;
}

/**
 * What `readerForRequest` would answer, from the extra columns of `lookupSessionWithReader` as
 * `sessions.validate` returns them (only for an active account's live session).
 */
export function requestReaderFromSession(
	user: SessionUser,
	extra: { reader: ReaderFields }
): RequestReader {
	return requestReaderOf(user, {
		organisationId: user.organisationId,
		status: 'active',
		...extra.reader
	});
}

/** An integer[] as postgres.js (an array) or PGlite (an array, or '{1,2}' text) returns it. */
function intList(value: unknown): number[] {
	if (Array.isArray(value)) return value.map((v) => toNumber(v));
	if (typeof value === 'string') {
		const inner = value.replace(/^\{|\}$/g, '');
		return inner === '' ? [] : inner.split(',').map((v) => toNumber(v));
	}
	throw new TypeError('compartment ids: not an array');
}
