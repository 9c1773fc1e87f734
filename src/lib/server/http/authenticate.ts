import type { Handle } from '@sveltejs/kit';
import { readSessionCookie } from '../auth/cookie';
import * as sessions from '../auth/sessions';
import { getLookupDb } from '../db';
import { lookupSessionWithReader } from '../vault/reader';

/**
 * Sets locals.user and locals.session for a live, fully authenticated session only. The same
 * statement reads the columns of the person's vault access as of now (`locals.vaultReader`),
 * which the vault guard takes instead of asking again: one round trip to the database instead
 * of two. They are only kept here; the guard makes them an access (and fails if it cannot),
 * so a route outside the vault never depends on them.
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
			event.locals.vaultReader = { accountId: valid.user.id, reader: valid.extra.reader };
		}
	}
	return resolve(event);
};
