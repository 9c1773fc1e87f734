/**
 * Where to go after signing in: a same-site path only (an absolute or protocol-relative URL
 * would be an open redirect), and never back to the sign-in page itself.
 */
export function safeNext(value: string | null | undefined): string {
	if (typeof value !== 'string' || value.length > 2000) return '/';
	if (!/^\/(?![/\\])/.test(value) || value.includes('\\')) return '/';
	// Control characters (a CR/LF in a Location header) are never part of a path we made.
	if ([...value].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) return '/';
	if (value === '/sign-in' || value.startsWith('/sign-in?') || value.startsWith('/sign-out'))
		return '/';
	return value;
}
