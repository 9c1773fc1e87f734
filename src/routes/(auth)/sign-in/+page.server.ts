import { fail, redirect } from '@sveltejs/kit';
import * as audit from '$lib/server/audit';
import { clearSessionCookie, readSessionCookie, setSessionCookie } from '$lib/server/auth/cookie';
import { safeNext } from '$lib/server/auth/next';
import * as sessions from '$lib/server/auth/sessions';
import * as signIn from '$lib/server/auth/sign-in';
import { getDb } from '$lib/server/db';
import type { Actions, PageServerLoad, RequestEvent } from './$types';

/** Public page: a signed-in person is sent on; the second step needs the waiting session. */
export const load: PageServerLoad = async (event) => {
	const next = safeNext(event.url.searchParams.get('next'));
	if (event.locals.user) redirect(303, next);
	const pending = await sessions.validate(getDb(), readSessionCookie(event.cookies, event.url), {
		allowPending: true
	});
	return { step: pending && !pending.session.mfaVerified ? 'code' : 'password', next } as const;
};

function contextOf(event: RequestEvent): signIn.SignInContext {
	const context = audit.contextOf(event);
	return { ...context, ip: context.ip ?? null, userAgent: context.userAgent ?? null };
}

function field(form: FormData, name: string): string {
	const value = form.get(name);
	return typeof value === 'string' ? value : '';
}

function afterSignIn(next: string): string {
	return `/sign-in?next=${encodeURIComponent(next)}`;
}

export const actions: Actions = {
	password: async (event) => {
		const form = await event.request.formData();
		const email = field(form, 'email');
		const next = safeNext(field(form, 'next'));
		const context = contextOf(event);
		// A token fixed in the browser before sign-in is never promoted: it is ended here (and
		// audited, as every ended session is) and sign-in always issues a new one.
		const previous = readSessionCookie(event.cookies, event.url);
		const existing = await sessions.validate(getDb(), previous, { allowPending: true });
		if (existing) await signIn.endBrowserSession(existing, 'new_sign_in', context);
		clearSessionCookie(event.cookies, event.url);

		const result = await signIn.passwordStep({ email, password: field(form, 'password') }, context);
		const echo = email.slice(0, 320);
		if (result.kind === 'too_long') return fail(400, { message: 'too_long', email: echo });
		if (result.kind === 'failed') return fail(400, { message: 'invalid', email: echo });
		setSessionCookie(event.cookies, event.url, result.token, result.session.absoluteExpiresAt);
		redirect(303, result.kind === 'signed_in' ? next : afterSignIn(next));
	},
	code: async (event) => {
		const form = await event.request.formData();
		const next = safeNext(field(form, 'next'));
		const result = await signIn.secondFactorStep(
			readSessionCookie(event.cookies, event.url),
			field(form, 'code'),
			contextOf(event)
		);
		if (result.kind === 'no_pending' || result.kind === 'locked') {
			clearSessionCookie(event.cookies, event.url);
			return fail(400, { message: result.kind === 'locked' ? 'locked' : 'expired', email: '' });
		}
		if (result.kind === 'failed') return fail(400, { message: 'wrong_code', email: '' });
		setSessionCookie(event.cookies, event.url, result.token, result.session.absoluteExpiresAt);
		redirect(303, next);
	},
	cancel: async (event) => {
		const pending = await sessions.validate(getDb(), readSessionCookie(event.cookies, event.url), {
			allowPending: true
		});
		if (pending && !pending.session.mfaVerified)
			await signIn.endBrowserSession(pending, 'cancelled', contextOf(event));
		clearSessionCookie(event.cookies, event.url);
		redirect(303, '/sign-in');
	}
};
