import { error, redirect, type RequestEvent } from '@sveltejs/kit';
import * as audit from '../audit';
import type { Role } from '../db/schema';
import type { SessionUser } from './types';

type GuardEvent = Pick<RequestEvent, 'locals' | 'url' | 'request'>;

/**
 * The one guard every load, action and endpoint calls. `locals.user` is set by the
 * `authenticate` handle only for a live, fully authenticated session (second factor included).
 */
export function requireUser(event: GuardEvent): SessionUser {
	const user = event.locals.user;
	if (!user) {
		const next = event.url.pathname + event.url.search;
		redirect(303, `/sign-in?next=${encodeURIComponent(next)}`);
	}
	return user;
}

/**
 * Requires one of the roles. Anyone else gets the same 404 as for a page that does not exist,
 * and the attempt is audited as a denial.
 */
export async function requireRole(event: GuardEvent, ...roles: Role[]): Promise<SessionUser> {
	const user = requireUser(event);
	if (!roles.some((role) => user.roles.includes(role))) {
		const area = roles.includes('auditor')
			? 'audit'
			: roles.includes('administrator')
				? 'admin'
				: 'document';
		await audit.record({
			...audit.contextOf(event),
			action:
				area === 'audit' ? 'audit.denied' : area === 'admin' ? 'admin.denied' : 'document.denied',
			outcome: 'denied',
			target: { type: 'route', id: event.url.pathname },
			details: { reason: 'role', required: roles, method: event.request.method }
		});
		error(404, 'Not Found');
	}
	return user;
}
