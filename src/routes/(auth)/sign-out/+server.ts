import * as audit from '$lib/server/audit';
import { clearSessionCookie, readSessionCookie } from '$lib/server/auth/cookie';
import * as sessions from '$lib/server/auth/sessions';
import * as signIn from '$lib/server/auth/sign-in';
import { getDb } from '$lib/server/db';
import type { RequestHandler } from './$types';

/**
 * Public on purpose: a person whose session has already ended must still be able to press
 * "Sign out" and lose the cookie. With a live session, that session is deleted and recorded; so
 * is a session still waiting for its second factor (the password was right): left alone, it
 * would stay usable for its remaining minutes by whoever holds the cookie, unrecorded.
 */
export const POST: RequestHandler = async (event) => {
	const { locals } = event;
	const recorded = audit.contextOf(event);
	const context = { ...recorded, ip: recorded.ip ?? null, userAgent: recorded.userAgent ?? null };
	if (locals.user && locals.session) {
		await signIn.signOut(locals.session.id, locals.user, context);
	} else {
		const waiting = await sessions.validate(getDb(), readSessionCookie(event.cookies, event.url), {
			allowPending: true
		});
		if (waiting && !waiting.session.mfaVerified) {
			await signIn.endBrowserSession(waiting, 'signed_out', context);
		}
	}
	clearSessionCookie(event.cookies, event.url);
	// Cookies are left out on purpose: "cookies" would also drop the language choice; the
	// session cookie is deleted explicitly above and the server session is gone.
	return new Response(null, {
		status: 303,
		headers: { Location: '/sign-in', 'Clear-Site-Data': '"cache", "storage"' }
	});
};
