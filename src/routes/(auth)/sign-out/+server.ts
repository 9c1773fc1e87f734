import * as audit from '$lib/server/audit';
import { clearSessionCookie } from '$lib/server/auth/cookie';
import * as signIn from '$lib/server/auth/sign-in';
import type { RequestHandler } from './$types';

/**
 * Public on purpose: a person whose session has already ended must still be able to press
 * "Sign out" and lose the cookie. With a live session, that session is deleted and recorded.
 */
export const POST: RequestHandler = async (event) => {
	const { locals } = event;
	if (locals.user && locals.session) {
		const context = audit.contextOf(event);
		await signIn.signOut(locals.session.id, locals.user, {
			...context,
			ip: context.ip ?? null,
			userAgent: context.userAgent ?? null
		});
	}
	clearSessionCookie(event.cookies, event.url);
	// Cookies are left out on purpose: "cookies" would also drop the language choice; the
	// session cookie is deleted explicitly above and the server session is gone.
	return new Response(null, {
		status: 303,
		headers: { Location: '/sign-in', 'Clear-Site-Data': '"cache", "storage"' }
	});
};
