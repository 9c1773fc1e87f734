import { sql } from 'drizzle-orm';
import type { AuditContext } from '../audit';
import * as sessions from '../auth/sessions';
import type { SessionUser } from '../auth/types';
import type { Executor } from '../db';
import { TEXT_MAX, type AdminErrorCode } from '../../schemas/admin';

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

function zoneOffsetMs(at: number, timeZone: string): number {
	const parts = new Intl.DateTimeFormat('en-US', {
		timeZone,
		hourCycle: 'h23',
		year: 'numeric',
		month: '2-digit',
		day: '2-digit',
		hour: '2-digit',
		minute: '2-digit',
		second: '2-digit'
	}).formatToParts(new Date(at));
	const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
	const local = Date.UTC(
		get('year'),
		get('month') - 1,
		get('day'),
		get('hour'),
		get('minute'),
		get('second')
	);
	return local - Math.floor(at / 1000) * 1000;
}

/**
 * An end date "YYYY-MM-DD" ends at the end of that day in the institute's time zone: the grant
 * stops counting at the following local midnight.
 */
export function endOfDay(date: string, timeZone: string): Date {
	const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
	if (!match) throw new AdminError('end_date_invalid');
	const [y, m, d] = [Number(match[1]), Number(match[2]), Number(match[3])];
	const check = new Date(Date.UTC(y, m - 1, d));
	if (check.getUTCFullYear() !== y || check.getUTCMonth() !== m - 1 || check.getUTCDate() !== d)
		throw new AdminError('end_date_invalid');
	const nextMidnightUtc = Date.UTC(y, m - 1, d + 1);
	let instant = nextMidnightUtc - zoneOffsetMs(nextMidnightUtc, timeZone);
	// Once more, in case the first guess crossed a daylight-saving change.
	instant = nextMidnightUtc - zoneOffsetMs(instant, timeZone);
	return new Date(instant);
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
