import { redirect } from '@sveltejs/kit';
import { z } from 'zod';
import { cookieMaxAge, cookieName, locales } from '$lib/paraglide/runtime';
import { safePath } from '$lib/server/auth/next';
import type { RequestHandler } from './$types';

const languageForm = z.object({
	locale: z.enum(locales),
	// Only a path on this site (see safePath): anything else would be an open redirect.
	redirectTo: z.string().transform(safePath).catch('/')
});

export const POST: RequestHandler = async ({ request, cookies, url }) => {
	// A body that is not a form (JSON, say) is a bad request like a bad value: back home.
	const form = await request.formData().catch(() => null);
	if (!form) redirect(303, '/');
	const parsed = languageForm.safeParse({
		locale: form.get('locale'),
		redirectTo: form.get('redirectTo') ?? '/'
	});
	if (!parsed.success) redirect(303, '/');
	// Read by the server only (the page takes its language from `<html lang>`, see
	// hooks.client.ts); Secure whenever the site is served over https.
	cookies.set(cookieName, parsed.data.locale, {
		path: '/',
		maxAge: cookieMaxAge,
		httpOnly: true,
		sameSite: 'lax',
		// Set explicitly: SvelteKit's default marks it Secure on any host but localhost, and a
		// browser then drops it on a plain-http demo host, where the switch did nothing.
		secure: url.protocol === 'https:'
	});
	redirect(303, parsed.data.redirectTo);
};
