import { fail, type RequestEvent } from '@sveltejs/kit';
import * as audit from '$lib/server/audit';
import { clearSessionCookie, setSessionCookie } from '$lib/server/auth/cookie';
import { requireUser } from '$lib/server/auth/guards';
import { parseSecret } from '$lib/server/auth/enrolment';
import { PASSWORD_MAX_LENGTH } from '$lib/server/auth/password-policy';
import * as selfService from '$lib/server/auth/self-service';
import * as totp from '$lib/server/auth/totp';
import { getConfig } from '$lib/server/config';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const user = requireUser(event);
	const overview = await selfService.overview(user, event.locals.session!.id);
	return {
		email: user.email,
		...overview,
		minLength: getConfig().passwordMinLength,
		maxLength: PASSWORD_MAX_LENGTH,
		// A new secret only when asked for: every visit would otherwise make one.
		totpSetup: event.url.searchParams.get('totp') === 'new' ? totp.newSetup(user.email) : null
	};
};

function field(form: FormData, name: string, max = 1024): string {
	const value = form.get(name);
	return typeof value === 'string' ? value.slice(0, max) : '';
}

async function formOf(event: RequestEvent) {
	const user = requireUser(event);
	return { user, form: await event.request.formData(), context: audit.contextOf(event) };
}

/**
 * The wrong code that locked the account out (see sign-in.ts SECOND_FACTOR_LOCKOUT) ended every
 * session of it, this one too: the browser forgets its cookie, and the page's load after the
 * action sends it to sign-in.
 */
function forgetSession(event: RequestEvent): void {
	clearSessionCookie(event.cookies, event.url);
	event.locals.session = null;
	event.locals.user = null;
}

export const actions: Actions = {
	endSession: async (event) => {
		const { user, form, context } = await formOf(event);
		const sessionId = field(form, 'session', 64);
		if (sessionId === event.locals.session!.id)
			return fail(400, { action: 'endSession', problem: 'current' });
		const ended = await selfService.endSession(user, sessionId, context, event.locals.session!.id);
		if (ended !== 'ok')
			return fail(ended === 'not_found' ? 404 : 400, { action: 'endSession', problem: ended });
		return { action: 'endSession', ok: true };
	},
	changePassword: async (event) => {
		const { user, form, context } = await formOf(event);
		const result = await selfService.changePassword(
			user,
			event.locals.session!.id,
			{
				current: field(form, 'current'),
				next: field(form, 'password'),
				confirm: field(form, 'confirm'),
				factor: field(form, 'factor', 64)
			},
			context
		);
		if (result.kind === 'problem') {
			if (result.problem === 'locked') forgetSession(event);
			return fail(400, { action: 'changePassword', problem: result.problem as string });
		}
		// Every session of the account has ended: this browser goes on with the new token (the
		// page's load after this action too), or signs in again if its own had ended meanwhile.
		if (result.renewed) {
			const { token, session } = result.renewed;
			setSessionCookie(event.cookies, event.url, token, session.absoluteExpiresAt);
			event.locals.session = session;
		} else {
			clearSessionCookie(event.cookies, event.url);
			event.locals.session = null;
			event.locals.user = null;
		}
		return { action: 'changePassword', ok: true, sessionsEnded: result.sessionsEnded };
	},
	reenrolTotp: async (event) => {
		const { user, form, context } = await formOf(event);
		const input = {
			password: field(form, 'current'),
			secret: field(form, 'secret', 64),
			code: field(form, 'code', 16),
			factor: field(form, 'factor', 64)
		};
		const result = await selfService.reenrolTotp(user, input, context, event.locals.session!.id);
		if (result.kind === 'problem') {
			if (result.problem === 'locked') forgetSession(event);
			// The same secret again, so that the code already scanned keeps working.
			const secret = parseSecret(input.secret);
			const setup = totp.newSetup(user.email, secret ?? undefined);
			return fail(400, { action: 'reenrolTotp', problem: result.problem as string, setup });
		}
		return { action: 'reenrolTotp', ok: true };
	},
	recoveryCodes: async (event) => {
		const { user, form, context } = await formOf(event);
		const result = await selfService.regenerateRecoveryCodes(
			user,
			{ password: field(form, 'current'), factor: field(form, 'factor', 64) },
			context,
			event.locals.session!.id
		);
		if (result.kind === 'problem') {
			if (result.problem === 'locked') forgetSession(event);
			return fail(400, { action: 'recoveryCodes', problem: result.problem as string });
		}
		return { action: 'recoveryCodes', ok: true, codes: result.codes };
	}
};
