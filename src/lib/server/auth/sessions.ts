import { sha256 } from '@oslojs/crypto/sha2';
import { constantTimeEqual } from '@oslojs/crypto/subtle';
import { encodeBase32LowerCaseNoPadding } from '@oslojs/encoding';
import { randomBytes } from 'node:crypto';
import { and, desc, eq, gt, lt, ne, sql } from 'drizzle-orm';
import { getConfig } from '../config';
import { builtOnce, type Executor } from '../db';
import { account, session, type Role } from '../db/schema';
import type { SessionRecord, SessionUser } from './types';

/**
 * Sessions as lucia-auth.com describes them: the cookie carries `id.secret`, the database keeps
 * the id and SHA-256(secret) only, so a leaked session table cannot be replayed as cookies.
 */

// 15 random bytes → 24 base32 characters (120 bits) for the id; 20 bytes → 32 characters
// (160 bits) for the secret.
const ID_BYTES = 15;
const SECRET_BYTES = 20;
const ID_LENGTH = 24;
const SECRET_LENGTH = 32;
const TOKEN_PATTERN = /^[a-z2-7]{24}\.[a-z2-7]{32}$/;

/** A session waiting for its second factor lives only this long. */
export const PENDING_LIFETIME_MS = 10 * 60 * 1000;
/** last_seen_at is written at most this often, so every request is not a write. */
export const LAST_SEEN_INTERVAL_MS = 60 * 1000;

export interface SessionLifetimes {
	idleMinutes: number;
	absoluteHours: number;
}

export interface ValidatedSession {
	session: SessionRecord;
	user: SessionUser;
}

function lifetimes(): SessionLifetimes {
	return getConfig().session;
}

function randomToken(bytes: number): string {
	return encodeBase32LowerCaseNoPadding(randomBytes(bytes));
}

function hashSecret(secret: string): Uint8Array {
	return sha256(new TextEncoder().encode(secret));
}

/** Splits a cookie value into id and secret; anything not shaped like our tokens is null. */
export function parseToken(
	token: string | undefined | null
): { id: string; secret: string } | null {
	if (typeof token !== 'string' || !TOKEN_PATTERN.test(token)) return null;
	return { id: token.slice(0, ID_LENGTH), secret: token.slice(ID_LENGTH + 1) };
}

export interface CreateSessionInput {
	accountId: number;
	mfaVerified: boolean;
	ip?: string | null;
	userAgent?: string | null;
	now?: Date;
	lifetimes?: SessionLifetimes;
	/**
	 * A new token for a session that goes on (after a password change): the sign-in time and
	 * the absolute end stay those of the session it replaces, so no lifetime is extended.
	 */
	continues?: { createdAt: Date; absoluteExpiresAt: Date };
}

/** A new session with a fresh token; the token is returned once and never stored. */
export async function create(
	executor: Executor,
	input: CreateSessionInput
): Promise<{ token: string; session: SessionRecord }> {
	const now = input.now ?? new Date();
	const limits = input.lifetimes ?? lifetimes();
	const id = randomToken(ID_BYTES);
	const secret = randomToken(SECRET_BYTES);
	if (id.length !== ID_LENGTH || secret.length !== SECRET_LENGTH) throw new Error('Bad token size');
	const createdAt = input.continues?.createdAt ?? now;
	const absoluteExpiresAt =
		input.continues?.absoluteExpiresAt ??
		new Date(
			now.getTime() + (input.mfaVerified ? limits.absoluteHours * 3_600_000 : PENDING_LIFETIME_MS)
		);
	await executor.insert(session).values({
		id,
		secretHash: hashSecret(secret),
		accountId: input.accountId,
		mfaVerified: input.mfaVerified,
		createdAt,
		lastSeenAt: now,
		absoluteExpiresAt,
		ip: input.ip?.slice(0, 100) ?? null,
		userAgent: input.userAgent?.slice(0, 500) ?? null
	});
	return {
		token: `${id}.${secret}`,
		session: {
			id,
			mfaVerified: input.mfaVerified,
			createdAt,
			lastSeenAt: now,
			absoluteExpiresAt
		}
	};
}

/** What a session lookup reads: password hashes and TOTP secrets stay in the database. */
export const sessionLookupColumns = {
	session: {
		id: session.id,
		secretHash: session.secretHash,
		mfaVerified: session.mfaVerified,
		createdAt: session.createdAt,
		lastSeenAt: session.lastSeenAt,
		absoluteExpiresAt: session.absoluteExpiresAt
	},
	account: {
		id: account.id,
		email: account.email,
		displayName: account.displayName,
		organisationId: account.organisationId,
		roles: account.roles,
		status: account.status,
		locale: account.locale,
		timeZone: account.timeZone
	}
};

const sessionLookup = builtOnce((executor) =>
	executor
		.select(sessionLookupColumns)
		.from(session)
		.innerJoin(account, eq(account.id, session.accountId))
		.where(eq(session.id, sql.placeholder('id')))
		.limit(1)
		.prepare('session_lookup')
);

export type SessionLookupRow = Awaited<
	ReturnType<ReturnType<typeof sessionLookup>['execute']>
>[number];

/**
 * Reads the row of the session with this id (at most one): `sessionLookupColumns` from session
 * joined to account, and whatever else a caller wants read in the same statement.
 */
export type SessionLookup<R extends SessionLookupRow> = (
	executor: Executor,
	id: string
) => Promise<R[]>;

const lookupSession: SessionLookup<SessionLookupRow> = (executor, id) =>
	sessionLookup(executor).execute({ id });

export interface ValidateOptions<R extends SessionLookupRow = SessionLookupRow> {
	now?: Date;
	lifetimes?: SessionLifetimes;
	/** The sign-in page also accepts a session still waiting for its second factor. */
	allowPending?: boolean;
	/** Reads the row; by default `sessionLookupColumns` only. */
	lookup?: SessionLookup<R>;
}

/**
 * The session and its person for a cookie value, or null. Expired sessions (idle or absolute)
 * and sessions of accounts that are no longer active are deleted on sight.
 */
export async function validate<R extends SessionLookupRow = SessionLookupRow>(
	executor: Executor,
	token: string | undefined | null,
	options: ValidateOptions<R> = {}
): Promise<(ValidatedSession & { extra: Omit<R, keyof SessionLookupRow> }) | null> {
	const parsed = parseToken(token);
	if (!parsed) return null;
	const now = options.now ?? new Date();
	const limits = options.lifetimes ?? lifetimes();
	const lookup = options.lookup ?? (lookupSession as SessionLookup<R>);
	const [row] = await lookup(executor, parsed.id);
	if (!row) return null;
	// Constant time: the stored hash must not be guessable byte by byte from response times.
	if (!constantTimeEqual(hashSecret(parsed.secret), row.session.secretHash)) return null;

	const idleEnd = row.session.lastSeenAt.getTime() + limits.idleMinutes * 60_000;
	const expired =
		now.getTime() >= row.session.absoluteExpiresAt.getTime() || now.getTime() >= idleEnd;
	if (expired || row.account.status !== 'active') {
		await executor.delete(session).where(eq(session.id, parsed.id));
		return null;
	}
	if (!row.session.mfaVerified && !options.allowPending) return null;

	let lastSeenAt = row.session.lastSeenAt;
	if (now.getTime() - lastSeenAt.getTime() >= LAST_SEEN_INTERVAL_MS) {
		lastSeenAt = now;
		await executor.update(session).set({ lastSeenAt: now }).where(eq(session.id, parsed.id));
	}
	const { session: _session, account: a, ...extra } = row;
	return {
		extra,
		session: {
			id: row.session.id,
			mfaVerified: row.session.mfaVerified,
			createdAt: row.session.createdAt,
			lastSeenAt,
			absoluteExpiresAt: row.session.absoluteExpiresAt
		},
		user: {
			id: a.id,
			email: a.email,
			displayName: a.displayName,
			organisationId: a.organisationId,
			roles: a.roles,
			locale: a.locale,
			timeZone: a.timeZone
		}
	};
}

/**
 * Inside a write's transaction: whether the account is still active and, when the write came
 * with a session, whether that session still exists (not signed out, ended by its owner or an
 * administrator, or removed with a disabled account). Both rows stay locked (FOR SHARE, the
 * account's first, as a disable locks it) until the transaction ends, so an ending that comes
 * later waits for the write, and one that came first is seen: a request whose body was still
 * arriving when the session or the account ended does not write.
 */
export async function stillActing(
	tx: Executor,
	accountId: number,
	sessionId: string | undefined
): Promise<{ roles: Role[]; sessionStartedAt: Date | null } | null> {
	const [active] = await tx
		.select({ roles: account.roles })
		.from(account)
		.where(and(eq(account.id, accountId), eq(account.status, 'active')))
		.for('share');
	if (!active) return null;
	if (sessionId === undefined) return { ...active, sessionStartedAt: null };
	const [live] = await tx
		.select({ createdAt: session.createdAt })
		.from(session)
		.where(and(eq(session.id, sessionId), eq(session.accountId, accountId)))
		.for('share');
	return live ? { ...active, sessionStartedAt: live.createdAt } : null;
}

/** Deletes one session (sign-out). */
export async function end(executor: Executor, sessionId: string): Promise<void> {
	await executor.delete(session).where(eq(session.id, sessionId));
}

/**
 * Ends one of the account's own sessions, a waiting one (`pending`) included; null when there
 * is no such session of theirs.
 */
export async function endOne(
	executor: Executor,
	accountId: number,
	sessionId: string,
	startedBefore: Date | null = null
): Promise<{ pending: boolean } | null> {
	const [deleted] = await executor
		.delete(session)
		.where(
			and(
				eq(session.id, sessionId),
				eq(session.accountId, accountId),
				startedBefore ? lt(session.createdAt, startedBefore) : undefined
			)
		)
		.returning({ mfaVerified: session.mfaVerified });
	return deleted ? { pending: !deleted.mfaVerified } : null;
}

/** Ends every session of an account (disabling, an administrator's request); returns how many. */
export async function endAllForAccount(executor: Executor, accountId: number): Promise<number> {
	const deleted = await executor
		.delete(session)
		.where(eq(session.accountId, accountId))
		.returning({ id: session.id });
	return deleted.length;
}

/**
 * Ends every session of the account except the one given (all of them when null), waiting ones
 * included; returns the ids ended, for the audit log.
 */
export async function endOthers(
	executor: Executor,
	accountId: number,
	keepSessionId: string | null
): Promise<string[]> {
	const deleted = await executor
		.delete(session)
		.where(
			keepSessionId === null
				? eq(session.accountId, accountId)
				: and(eq(session.accountId, accountId), ne(session.id, keepSessionId))
		)
		.returning({ id: session.id });
	return deleted.map((row) => row.id);
}

export interface SessionListing {
	id: string;
	/** Signed in with the password, still waiting for the second factor. */
	pending: boolean;
	ip: string | null;
	userAgent: string | null;
	createdAt: Date;
	lastSeenAt: Date;
}

/**
 * The account's live sessions, most recently used first: the fully signed-in ones and those
 * still waiting for their second factor (`pending`), which only someone who knows the password
 * can have opened.
 */
export async function listForAccount(
	executor: Executor,
	accountId: number,
	now: Date = new Date()
): Promise<SessionListing[]> {
	const idleStart = new Date(now.getTime() - lifetimes().idleMinutes * 60_000);
	const rows = await executor
		.select({
			id: session.id,
			mfaVerified: session.mfaVerified,
			ip: session.ip,
			userAgent: session.userAgent,
			createdAt: session.createdAt,
			lastSeenAt: session.lastSeenAt
		})
		.from(session)
		.where(
			and(
				eq(session.accountId, accountId),
				gt(session.absoluteExpiresAt, now),
				gt(session.lastSeenAt, idleStart)
			)
		)
		.orderBy(desc(session.lastSeenAt));
	return rows.map(({ mfaVerified, ...row }) => ({ ...row, pending: !mfaVerified }));
}
