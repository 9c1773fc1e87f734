import type { ClientInit } from '@sveltejs/kit';
import { baseLocale, overwriteGetLocale, toLocale } from '$lib/paraglide/runtime';

/**
 * The server chooses the language (the reader's `locale` cookie, then Accept-Language) and
 * writes it into `<html lang>`; the browser takes it from there. Paraglide's own client lookup
 * would instead read the cookie or the browser's languages and, the first time, write the cookie
 * again from script: without `Secure`, and readable by script. The only writer of that cookie is
 * now the server's language switch (`/language`).
 */
export const init: ClientInit = () => {
	overwriteGetLocale(() => toLocale(document.documentElement.lang) ?? baseLocale);
};
