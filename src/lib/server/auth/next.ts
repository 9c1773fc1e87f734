/**
 * A path on this site to send a browser to, or '/' when it is anything else: an absolute or
 * protocol-relative URL, a backslash (browsers read `/\` as `//`), or a control character
 * (browsers drop a tab or newline inside a URL, so `/<TAB>/evil.example` becomes
 * `//evil.example`; a CR/LF would also split the Location header).
 */
export function safePath(value: string | null | undefined): string {
	if (typeof value !== 'string' || value.length > 2000) return '/';
	if (!/^\/(?![/\\])/.test(value) || value.includes('\\')) return '/';
	if ([...value].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) return '/';
	// A Location header holds ASCII only: other characters (a typed `/文書`, a space) are
	// percent-encoded, or the redirect would fail after the sign-in or switch succeeded. A lone
	// surrogate cannot be encoded, and sends the browser home.
	try {
		return value.replace(/[^\x21-\x7e]/gu, (c) => encodeURIComponent(c));
	} catch {
		return '/';
	}
}

/** Where to go after signing in: a `safePath`, and never back to the sign-in page itself. */
export function safeNext(value: string | null | undefined): string {
	const path = safePath(value);
	if (path === '/sign-in' || path.startsWith('/sign-in?') || path.startsWith('/sign-out'))
		return '/';
	return path;
}
