import type { Cookies } from '@sveltejs/kit';
import { getConfig } from '../config';

/**
 * Over HTTPS the cookie is Secure and `__Host-` prefixed (bound to this host, path /, no
 * Domain). Whether we are on HTTPS comes from ORIGIN, the public URL, not from the request.
 */
export function isHttps(url: URL): boolean {
	const origin = getConfig().origin;
	return origin ? origin.startsWith('https://') : url.protocol === 'https:';
}

export function sessionCookieName(url: URL): string {
	return isHttps(url) ? '__Host-session' : 'session';
}

export function readSessionCookie(cookies: Cookies, url: URL): string | undefined {
	return cookies.get(sessionCookieName(url));
}

export function setSessionCookie(cookies: Cookies, url: URL, token: string, expires: Date): void {
	cookies.set(sessionCookieName(url), token, {
		path: '/',
		httpOnly: true,
		sameSite: 'lax',
		secure: isHttps(url),
		expires
	});
}

export function clearSessionCookie(cookies: Cookies, url: URL): void {
	cookies.delete(sessionCookieName(url), {
		path: '/',
		httpOnly: true,
		sameSite: 'lax',
		secure: isHttps(url)
	});
}
