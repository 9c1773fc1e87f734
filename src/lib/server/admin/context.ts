import { sql } from 'drizzle-orm';
import type { AuditContext } from '../audit';
import * as sessions from '../auth/sessions';
import type { SessionUser } from '../auth/types';
import type { Executor } from '../db';
import { TEXT_MAX, type AdminErrorCode } from '../../schemas/admin';
import { zoneOffsetMs } from '../time-zone';

/** Who acts, from the session (never from the form), and the institute's time zone for dates. */
export interface AdminContext {
	actor: SessionUser;
	audit: AuditContext;
	timeZone: string;
	/** The request's session, checked in each transaction (absent outside a request). */
	sessionId?: string;
}

export type { AdminErrorCode };

/** An expected refusal: routes turn it into `fail(status, { code })`. */
export class AdminError extends Error {
	constructor(
		readonly code: AdminErrorCode,
		readonly status: number = 400
	) {
		super(code);
		this.name = 'AdminError';
	}
}

export const JUSTIFICATION_MAX = TEXT_MAX;

/** A justification or comment: trimmed, present, and of a size a person writes. */
export function requireText(
	value: string | null | undefined,
	missing: AdminErrorCode = 'justification_required'
): string {
	const text = (value ?? '').trim();
	if (text.length === 0) throw new AdminError(missing);
	if (text.length > JUSTIFICATION_MAX) throw new AdminError('justification_too_long');
	return text;
}

// Any fixed 64-bit number, distinct from the migration and bootstrap locks.
const ADMINISTRATION_LOCK_KEY = 4_206_118_907;

/**
 * Re-reads the actor inside the transaction: a role removed, an account disabled or the
 * request's session ended a moment ago (the form's body may have arrived long after the
 * request) counts now, whatever the request's guard saw.
 */
export async function assertAdministrator(tx: Executor, ctx: AdminContext): Promise<void> {
	// Administrative transactions take turns (they are few): two administrators acting on each
	// other at once could otherwise both check themselves before either wrote, and both act
	// (one of them already disabled by the other), or lock each other's rows in opposite orders
	// and deadlock. Each transaction calls this first, so this lock is always its first one.
	await tx.execute(sql`select pg_advisory_xact_lock(${ADMINISTRATION_LOCK_KEY})`);
	const acting = await sessions.stillActing(tx, ctx.actor.id, ctx.sessionId);
	if (!acting?.roles.includes('administrator')) throw new AdminError('forbidden', 404);
}

/** The before/after snapshot of an account kept in audit details. */
export function accountSnapshot(row: {
	status: string;
	roles: string[];
	organisationId: number;
	displayName?: string;
	email?: string;
}) {
	return {
		status: row.status,
		roles: [...row.roles].sort(),
		organisationId: row.organisationId,
		...(row.displayName !== undefined ? { displayName: row.displayName } : {}),
		...(row.email !== undefined ? { email: row.email } : {})
	};
}

const HOUR_MS = 3_600_000;

/**
 * An end date "YYYY-MM-DD" ends at the end of that day in the institute's time zone: the grant
 * stops counting at the instant after which the local date is later than `date` for good.
 * Usually that is the next local midnight, but not where the clocks change at midnight: one
 * that springs forward skips midnight (the day ends at the change, 01:00 on the new date), one
 * that falls back shows the last hour of `date` twice (the day ends at the second midnight), and
 * Samoa skipped 30 December 2011 altogether (the 29th ended when the 31st began).
 */
export function endOfDay(date: string, timeZone: string): Date {
	const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
	if (!match) throw new AdminError('end_date_invalid');
	const [y, m, d] = [Number(match[1]), Number(match[2]), Number(match[3])];
	const check = new Date(Date.UTC(y, m - 1, d));
	if (check.getUTCFullYear() !== y || check.getUTCMonth() !== m - 1 || check.getUTCDate() !== d)
		throw new AdminError('end_date_invalid');
	// The next midnight on a clock at UTC; the zone's is its offset away, and no offset reaches
	// a day, so the end lies within a day on either side of it.
	const nextMidnight = Date.UTC(y, m - 1, d + 1);
	const from = nextMidnight - 24 * HOUR_MS;
	const to = nextMidnight + 24 * HOUR_MS;
	// The window cut where the offset changes: sampled hourly (zones change it months apart),
	// each change then found to the millisecond by halving.
	const starts = [from];
	const offsets = [zoneOffsetMs(from, timeZone)];
	for (let t = from + HOUR_MS; t <= to; t += HOUR_MS) {
		const offset = zoneOffsetMs(t, timeZone);
		const previous = offsets.at(-1)!;
		if (offset === previous) continue;
		let [before, after] = [t - HOUR_MS, t];
		while (after - before > 1) {
			const middle = Math.floor((before + after) / 2);
			if (zoneOffsetMs(middle, timeZone) === previous) before = middle;
			else after = middle;
		}
		starts.push(after);
		offsets.push(offset);
	}
	// Within one offset the local clock only runs forward: the date is at most `date` until
	// nextMidnight - offset. The last stretch that shows such a date ends the day; the first
	// always does (its offset is below a day), so the search ends there at the latest.
	let i = starts.length - 1;
	while (i > 0 && nextMidnight - offsets[i]! <= starts[i]!) i--;
	const stretchEnd = i + 1 < starts.length ? starts[i + 1]! : Infinity;
	return new Date(Math.min(stretchEnd, nextMidnight - offsets[i]!));
}

/** Today's date in the given zone, as "YYYY-MM-DD" (for the date input's minimum). */
export function todayIn(timeZone: string, now: Date = new Date()): string {
	return new Intl.DateTimeFormat('en-CA', {
		timeZone,
		year: 'numeric',
		month: '2-digit',
		day: '2-digit'
	}).format(now);
}

/**
 * The last date a grant may end on, as "YYYY-MM-DD": `days` days after today in the zone
 * (`GRANT_MAX_DAYS`). Counted from the moment the grant is made, so a request that waited for
 * approval is measured again from the approval.
 */
export function latestEndDate(timeZone: string, days: number, now: Date = new Date()): string {
	const [y, m, d] = todayIn(timeZone, now).split('-').map(Number);
	return new Date(Date.UTC(y!, m! - 1, d! + days)).toISOString().slice(0, 10);
}
