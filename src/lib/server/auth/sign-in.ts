import { randomBytes } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import * as audit from '../audit';
import { getConfig } from '../config';
import { getDb, type Executor } from '../db';
import { account, type Account, type Role } from '../db/schema';
import { hashPassword, verifyPasswordHash } from './password';
import * as recoveryCodes from './recovery-codes';
import * as sessions from './sessions';
import * as throttle from './throttle';
import * as totp from './totp';
import type { SessionRecord } from './types';

/** No password we accept is longer; anything longer is refused before any hashing. */
export const MAX_PASSWORD_LENGTH = 128;
const MAX_EMAIL_LENGTH = 320;

export interface SignInContext extends audit.AuditContext {
	ip: string | null;
	userAgent: string | null;
}

export type PasswordStepResult =
	| { kind: 'failed' }
	| { kind: 'too_long' }
	| { kind: 'second_factor'; token: string; session: SessionRecord }
	| { kind: 'signed_in'; token: string; session: SessionRecord };

export type SecondFactorResult =
	| { kind: 'failed' }
	| { kind: 'no_pending' }
	| { kind: 'signed_in'; token: string; session: SessionRecord; method: 'totp' | 'recovery' };

let dummyHash: Promise<string> | undefined;

/**
 * A hash of a random password, verified when there is no real hash to check, so that an
 * unknown or disabled account costs the same argon2 work as a wrong password.
 */
function getDummyHash(): Promise<string> {
	dummyHash ??= hashPassword(randomBytes(18).toString('base64'));
	return dummyHash;
}

export function mfaRequired(roles: readonly Role[]): boolean {
	return (
		getConfig().mfaRequiredForAll || roles.includes('administrator') || roles.includes('auditor')
	);
}

/** Lower case and trimmed; anything PostgreSQL text cannot hold never reaches a query. */
export function normaliseEmail(email: string): string | null {
	const clean = email.normalize('NFKC').trim().toLowerCase();
	if (clean.length === 0 || clean.length > MAX_EMAIL_LENGTH || clean.includes('\u0000'))
		return null;
	if (!clean.isWellFormed()) return null;
	return clean;
}

async function findAccount(executor: Executor, email: string): Promise<Account | undefined> {
	const [row] = await executor
		.select()
		.from(account)
		.where(eq(sql`lower(${account.email})`, email))
		.limit(1);
	return row;
}

function actorOf(a: Account): audit.AuditActor {
	return { id: a.id, name: a.displayName, roles: a.roles };
}

async function recordFailure(
	context: SignInContext,
	action: 'auth.sign_in' | 'auth.mfa',
	reason: string,
	details: Record<string, unknown>,
	who: Account | undefined
): Promise<void> {
	await audit.record({
		...context,
		actor: who ? actorOf(who) : null,
		action,
		outcome: 'failed',
		target: who ? { type: 'account', id: who.id } : null,
		details: { reason, ...details }
	});
}

/**
 * First step: email and password. Unknown email, wrong password, disabled or not yet enrolled
 * accounts all answer `failed` after the same argon2 work; the true reason goes to the audit log.
 */
export async function passwordStep(
	input: { email: string; password: string },
	context: SignInContext,
	options: { now?: Date } = {}
): Promise<PasswordStepResult> {
	if (input.password.length > MAX_PASSWORD_LENGTH) return { kind: 'too_long' };
	const db = getDb();
	const now = options.now ?? new Date();
	const email = normaliseEmail(input.email);
	const throttleKeys = [
		throttle.keys.email(email ?? input.email.slice(0, MAX_EMAIL_LENGTH)),
		throttle.keys.ip(context.ip)
	];
	const locked = await throttle.isLocked(db, throttleKeys, now);
	const found = email ? await findAccount(db, email) : undefined;
	const usable = found && found.status === 'active' && found.passwordHash !== null;
	// The same argon2 work in every case, locked or not, known or not.
	const passwordOk = await verifyPasswordHash(
		usable ? found.passwordHash! : await getDummyHash(),
		input.password
	);
	const emailDetail = { email: input.email.slice(0, 320) };
	if (locked) {
		// Attempts while locked do not extend the lock, and look like any other failure.
		await recordFailure(context, 'auth.sign_in', 'throttled', emailDetail, found);
		return { kind: 'failed' };
	}
	if (!found || !usable || !passwordOk) await throttle.recordFailure(db, throttleKeys, now);
	if (!found) {
		await recordFailure(context, 'auth.sign_in', 'unknown_email', emailDetail, undefined);
		return { kind: 'failed' };
	}
	if (!usable) {
		const reason = found.status === 'disabled' ? 'disabled' : 'not_enrolled';
		await recordFailure(context, 'auth.sign_in', reason, emailDetail, found);
		return { kind: 'failed' };
	}
	if (!passwordOk) {
		await recordFailure(context, 'auth.sign_in', 'wrong_password', emailDetail, found);
		return { kind: 'failed' };
	}
	const hasTotp = found.totpSecret !== null && found.totpKeyId !== null;
	if (!hasTotp && mfaRequired(found.roles)) {
		await recordFailure(context, 'auth.sign_in', 'second_factor_not_enrolled', emailDetail, found);
		return { kind: 'failed' };
	}

	return db.transaction(async (tx) => {
		await throttle.clear(tx, [throttleKeys[0]!]);
		const created = await sessions.create(tx, {
			accountId: found.id,
			mfaVerified: !hasTotp,
			ip: context.ip,
			userAgent: context.userAgent
		});
		if (!hasTotp) {
			await tx.update(account).set({ lastSignInAt: new Date() }).where(eq(account.id, found.id));
		}
		await audit.append(tx, {
			...context,
			actor: actorOf(found),
			action: 'auth.sign_in',
			outcome: 'allowed',
			target: { type: 'account', id: found.id },
			details: { stage: hasTotp ? 'password' : 'complete', session: created.session.id }
		});
		return { kind: hasTotp ? 'second_factor' : 'signed_in', ...created };
	});
}

/** Why a second factor is refused, or null when it is accepted (a recovery code is used up). */
async function secondFactorRefusal(
	tx: Executor,
	accountId: number,
	code: string,
	isTotp: boolean,
	now: Date
): Promise<string | null> {
	if (isTotp) {
		const result = await totp.verifyForAccount(tx, accountId, code.replace(/\s/g, ''), now);
		if (result === 'ok') return null;
		return result === 'replay' ? 'code_reused' : 'wrong_code';
	}
	const used = await recoveryCodes.consume(tx, accountId, code, now);
	return used ? null : 'wrong_or_used_recovery_code';
}

/**
 * Second step: a 6-digit code or a recovery code for the session waiting for it. On success the
 * waiting session is replaced by a new one (a new token), fully authenticated.
 */
export async function secondFactorStep(
	pendingToken: string | undefined,
	code: string,
	context: SignInContext,
	options: { now?: Date } = {}
): Promise<SecondFactorResult> {
	const now = options.now ?? new Date();
	const db = getDb();
	const pending = await sessions.validate(db, pendingToken, { allowPending: true });
	if (!pending || pending.session.mfaVerified) return { kind: 'no_pending' };
	const accountId = pending.user.id;
	const [who] = await db.select().from(account).where(eq(account.id, accountId));
	if (!who) return { kind: 'no_pending' };
	const trimmed = code.trim().slice(0, 64);
	const isTotp = /^\d{6}$/.test(trimmed.replace(/\s/g, ''));
	const throttleKeys = [throttle.keys.mfa(accountId), throttle.keys.ip(context.ip)];
	if (await throttle.isLocked(db, throttleKeys, now)) {
		await recordFailure(context, 'auth.mfa', 'throttled', {}, who);
		return { kind: 'failed' };
	}

	return db.transaction(async (tx) => {
		const method: 'totp' | 'recovery' = isTotp ? 'totp' : 'recovery';
		const refusal = await secondFactorRefusal(tx, accountId, trimmed, isTotp, now);
		if (refusal) {
			await throttle.recordFailure(tx, throttleKeys, now);
			await audit.append(tx, {
				...context,
				actor: actorOf(who),
				action: 'auth.mfa',
				outcome: 'failed',
				target: { type: 'account', id: accountId },
				details: { method, reason: refusal }
			});
			return { kind: 'failed' } as const;
		}
		await throttle.clear(tx, [throttleKeys[0]!]);
		await sessions.end(tx, pending.session.id);
		const created = await sessions.create(tx, {
			accountId,
			mfaVerified: true,
			ip: context.ip,
			userAgent: context.userAgent
		});
		await tx.update(account).set({ lastSignInAt: new Date() }).where(eq(account.id, accountId));
		await audit.append(tx, {
			...context,
			actor: actorOf(who),
			action: 'auth.mfa',
			outcome: 'allowed',
			target: { type: 'account', id: accountId },
			details: { method, session: created.session.id }
		});
		if (method === 'recovery') {
			await audit.append(tx, {
				...context,
				actor: actorOf(who),
				action: 'auth.recovery_code_used',
				outcome: 'allowed',
				target: { type: 'account', id: accountId },
				details: { remaining: await recoveryCodes.remaining(tx, accountId) }
			});
		}
		return { kind: 'signed_in', method, ...created } as const;
	});
}

/** Sign-out: the server session goes, and the event is recorded. */
export async function signOut(
	sessionId: string,
	user: { id: number; displayName: string; roles: readonly string[] },
	context: SignInContext
): Promise<void> {
	await getDb().transaction(async (tx) => {
		await sessions.end(tx, sessionId);
		await audit.append(tx, {
			...context,
			actor: { id: user.id, name: user.displayName, roles: user.roles },
			action: 'auth.sign_out',
			outcome: 'allowed',
			target: { type: 'account', id: user.id },
			details: { session: sessionId }
		});
	});
}
