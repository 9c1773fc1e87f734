import type { Handle } from '@sveltejs/kit';
import { readSessionCookie } from '../auth/cookie';
import * as sessions from '../auth/sessions';
import { getLookupDb } from '../db';
import { lookupSessionWithReader, requestReaderFromSession } from '../vault/reader';

/**
 * Sets locals.user and locals.session for a live, fully authenticated session only. The same
 * statement reads the person's vault access as of now (`locals.vaultReader`), which the vault
 * guard takes instead of asking again: one round trip to the database instead of two.
 */
export const authenticate: Handle = async ({ event, resolve }) => {
	const token = readSessionCookie(event.cookies, event.url);
	if (token) {
		const valid = await sessions.validate(getLookupDb(), token, {
			lookup: lookupSessionWithReader
		});
		if (valid) {
			event.locals.user = valid.user;
			event.locals.session = valid.session;
			event.locals.vaultReader = requestReaderFromSession(valid.user, valid.extra);
		}
	}
	return resolve(event);
};
