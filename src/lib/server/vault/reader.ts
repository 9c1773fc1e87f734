import { sql } from 'drizzle-orm';
import { accessSubqueries } from '../access';
import type { SessionUser } from '../auth/types';
import { queryRows, toNumber, type Executor } from '../db';
import { account, organisation } from '../db/schema';
import { expiredDuring } from './expired-grants';
import type { Writer } from './write-rule';

/**
 * A signed-in person's access as of this request (computed from the grants valid now, so a
 * revocation counts on the very next request) together with their roles. Null for an account
 * that is no longer active.
 */
export async function readerOf(executor: Executor, user: SessionUser): Promise<Writer | null> {
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
	user: SessionUser,
	sessionStart: Date | null | undefined
): Promise<RequestReader> {
	const { level, compartmentIds } = accessSubqueries(sql`${account.id}`);
	const ended = sessionStart
		? sql`exists(${expiredDuring(executor, user.id, sessionStart)})`
		: sql`false`;
	const [row] = await queryRows<{
		organisation_id: unknown;
		status: string;
		level: unknown;
		compartment_ids: unknown;
		home: unknown;
		ended: unknown;
		generation: unknown;
	}>(
		executor,
		sql`select ${account.organisationId} as organisation_id, ${account.status} as status,
				${level} as level, ${compartmentIds} as compartment_ids,
				(select ${organisation.id} from ${organisation} where ${organisation.isHome}
					order by ${organisation.id} limit 1) as home,
				${ended} as ended,
				(select generation from vault_generation where id = 1) as generation
			from ${account} where ${account.id} = ${user.id}`
	);
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
				organisationId: toNumber(row.organisation_id),
				level: toNumber(row.level),
				compartmentIds: intList(row.compartment_ids)
			},
			roles: user.roles,
			homeOrgId: toNumber(row.home)
		},
		grantsEnded: row.ended === true || row.ended === 't',
		generation
	};
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
