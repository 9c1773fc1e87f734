import { error, fail, type ActionFailure, type RequestEvent } from '@sveltejs/kit';
import type { z } from 'zod';
import { formObject, type AdminErrorCode } from '../../schemas/admin';
import * as audit from '../audit';
import { requireRole } from '../auth/guards';
import { getConfig } from '../config';
import { getDb, type Database } from '../db';
import { AdminError, type AdminContext } from './context';

type GuardEvent = Pick<RequestEvent, 'locals' | 'url' | 'request'>;

/**
 * The guard every administration load, action and endpoint calls first: anyone but an
 * administrator gets the 404 of a page that does not exist, and the attempt is audited.
 */
export async function guard(event: GuardEvent): Promise<{ ctx: AdminContext; db: Database }> {
	const actor = await requireRole(event, 'administrator');
	return {
		ctx: {
			actor,
			audit: audit.contextOf(event),
			timeZone: getConfig().displayTimeZone,
			sessionId: event.locals.session?.id
		},
		db: getDb()
	};
}

export type Failure = ActionFailure<{ code: AdminErrorCode; fields?: string[] }>;

/** Parses a posted form with its strict schema; unknown or duplicated fields refuse it. */
export async function parseForm<S extends z.ZodType>(
	request: Request,
	schema: S,
	arrays: readonly string[] = []
): Promise<{ ok: true; data: z.output<S> } | { ok: false; failure: Failure }> {
	const raw = formObject(await request.formData(), arrays);
	if (!raw) return { ok: false, failure: fail(400, { code: 'invalid_form' as const }) };
	const parsed = schema.safeParse(raw);
	if (parsed.success) return { ok: true, data: parsed.data };
	const issue = parsed.error.issues[0];
	const known = [
		'justification_required',
		'justification_too_long',
		'comment_required',
		'name_characters'
	];
	const code = (
		issue && known.includes(issue.message) ? issue.message : 'invalid_form'
	) as AdminErrorCode;
	const fields = parsed.error.issues.map((i) =>
		i.code === 'unrecognized_keys' ? i.keys.join(',') : i.path.join('.')
	);
	return { ok: false, failure: fail(400, { code, fields }) };
}

/**
 * The refusals that are the administration rules' (not a form's mistakes): acting on oneself,
 * the two-person rule, separation of duties, the last administrator, another's request,
 * reviewing a grant one granted or approved, and an actor whose administrator role went away
 * mid-session. Each is audited as admin.denied.
 */
const RULE_REFUSALS: ReadonlySet<AdminErrorCode> = new Set([
	'forbidden',
	'self',
	'separation_of_duties',
	'last_administrator',
	'not_requester',
	'own_grant',
	'sessions_recently_ended',
	'link_recently_sent'
]);

/**
 * Runs a domain call, turning its expected refusals into form failures; a refusal by the
 * administration rules is audited first (if that cannot be written, the request fails).
 */
export async function perform<T>(
	event: Pick<RequestEvent, 'url' | 'request'>,
	ctx: AdminContext,
	run: () => Promise<T>
): Promise<T | Failure> {
	try {
		return await run();
	} catch (e) {
		if (e instanceof AdminError) {
			if (RULE_REFUSALS.has(e.code)) {
				await audit.record({
					...ctx.audit,
					action: 'admin.denied',
					outcome: 'denied',
					target: { type: 'route', id: event.url.pathname },
					details: { reason: e.code, method: event.request.method }
				});
			}
			if (e.code === 'forbidden' || e.status === 404) error(404, 'Not Found');
			return fail(e.status, { code: e.code });
		}
		throw e;
	}
}

/** A route parameter that must be a positive integer id, else the page does not exist. */
export function idParam(value: string | undefined): number {
	const n = Number(value);
	if (!value || !/^\d{1,9}$/.test(value) || !Number.isSafeInteger(n) || n <= 0)
		error(404, 'Not Found');
	return n;
}
