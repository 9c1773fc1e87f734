import { AsyncLocalStorage } from 'node:async_hooks';
import type { Handle } from '@sveltejs/kit';
import {
	extractLocaleFromRequestWithStrategies,
	getServerAsyncLocalStorage,
	overwriteServerAsyncLocalStorage,
	routeStrategies,
	strategy,
	type Locale
} from '$lib/paraglide/runtime';

/** What Paraglide's `getLocale` and `getUrlOrigin` read on the server during a request. */
interface LocaleStore {
	locale?: Locale;
	origin?: string;
	messageCalls?: Set<string>;
}

// The handle below relies on this: a URL strategy (or per-route strategies) would need the
// redirects and the de-localised URLs that only Paraglide's middleware provides.
if ((strategy as readonly string[]).includes('url') || routeStrategies.length > 0) {
	throw new Error('i18n handle: URL or per-route locale strategies need paraglideMiddleware');
}

function localeStorage(): AsyncLocalStorage<LocaleStore> {
	const existing = getServerAsyncLocalStorage() as AsyncLocalStorage<LocaleStore> | undefined;
	if (existing) return existing;
	const created = new AsyncLocalStorage<LocaleStore>();
	overwriteServerAsyncLocalStorage(created);
	return created;
}

/**
 * The reader's language (the `locale` cookie, then Accept-Language, then English: the strategy
 * in vite.config.ts), in scope for every message function for the rest of the request.
 *
 * This does what Paraglide's `paraglideMiddleware` does for that strategy, without the rest:
 * with no URL strategy there is never a redirect or a localised path to undo, so the middleware's
 * copy of the request is not needed. Not copying matters twice: request.clone() tees the body (an
 * unread branch would buffer a whole upload in memory), and the copy, its URL and its headers
 * were a measurable part of a list page's CPU time.
 */
export const i18n: Handle = ({ event, resolve }) => {
	const locale = extractLocaleFromRequestWithStrategies(event.request, strategy, event.url);
	const scope: LocaleStore = { locale, origin: event.url.origin, messageCalls: new Set() };
	return localeStorage().run(scope, () =>
		resolve(event, {
			transformPageChunk: ({ html }) => html.replace('%paraglide.lang%', locale)
		})
	);
};
