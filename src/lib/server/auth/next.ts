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
	return value;
}

/** Where to go after signing in: a `safePath`, and never back to the sign-in page itself. */
export function safeNext(value: string | null | undefined): string {
	const path = safePath(value);
	if (path === '/sign-in' || path.startsWith('/sign-in?') || path.startsWith('/sign-out'))
		return '/';
	return path;
}
