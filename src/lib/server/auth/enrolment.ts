import { sha256 } from '@oslojs/crypto/sha2';
import { decodeBase32IgnorePadding, encodeBase64urlNoPadding } from '@oslojs/encoding';
import { randomBytes } from 'node:crypto';
import { and, eq, gt, isNull, ne } from 'drizzle-orm';
import * as audit from '../audit';
import { getConfig } from '../config';
import { getDb, type Executor } from '../db';
import { account, enrolment, type Role } from '../db/schema';
import { getMailer, type MailMessage } from '../mail';
import { hashPassword } from './password';
import { checkNewPassword, samePassword, type PasswordProblem } from './password-policy';
import * as recoveryCodes from './recovery-codes';
import * as sessions from './sessions';
import * as totp from './totp';

export type EnrolmentPurpose = 'enrol' | 'reset';

export const ENROLMENT_LIFETIME_MS = 72 * 60 * 60 * 1000;
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export function hashToken(token: string): Uint8Array {
	return sha256(new TextEncoder().encode(token));
}

/** True when the text has the shape of an enrolment token (256 bits, base64url). */
export function isTokenShaped(token: string): boolean {
	return TOKEN_PATTERN.test(token);
}

export interface IssueInput {
	accountId: number;
	purpose: EnrolmentPurpose;
	/** The administrator asking for it; null for the system (demo seeding, scripts). */
	requestedBy: number | null;
	/** Actor, IP, user agent, request id for the audit event. */
	context?: audit.AuditContext;
	/** The public URL the link points at; defaults to ORIGIN. */
	origin?: string;
	now?: Date;
}

export interface IssuedEnrolment {
	enrolmentId: number;
	expiresAt: Date;
	/**
	 * Sends the mail. Call it only after the transaction that issued the link has committed:
	 * mail cannot be taken back, so a rolled-back issue must never have sent a working-looking
	 * link (it would not work) nor a message about an account that was not created.
	 */
	send(): Promise<void>;
}

function linkText(purpose: EnrolmentPurpose, link: string, expiresAt: Date): MailMessage['text'] {
	const until = expiresAt.toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
	const en =
		purpose === 'enrol'
			? 'An account has been created for you on the JISS Intranet.\nOpen this link to set your password and your authenticator app:'
			: 'An administrator has sent you a link for the JISS Intranet.\nOpen it to set a new password and authenticator app:';
	const ja =
		purpose === 'enrol'
			? 'JISS イントラネットのアカウントが作成されました。\n次のリンクを開いて、パスワードと認証アプリを設定してください。'
			: '管理者から JISS イントラネットのリンクが送られました。\n次のリンクを開いて、新しいパスワードと認証アプリを設定してください。';
	return [
		en,
		link,
		`The link works once and expires at ${until}. If you did not expect this message, tell the institute's administrators.`,
		'',
		ja,
		link,
		`このリンクは1回だけ使用でき、${until} に期限切れになります。心当たりがない場合は研究所の管理者に連絡してください。`
	].join('\n');
}

/**
 * Issues a one-time enrolment (or reset) link inside the caller's transaction: a random
 * 256-bit token of which only the SHA-256 is stored, valid 72 hours. Earlier unused links of
 * the account stop working. The administrator never sees the token: it only goes into the mail,
 * which `send()` delivers after the caller's commit.
 */
export async function issue(executor: Executor, input: IssueInput): Promise<IssuedEnrolment> {
	const now = input.now ?? new Date();
	const [target] = await executor
		.select({ id: account.id, email: account.email })
		.from(account)
		.where(eq(account.id, input.accountId));
	if (!target) throw new Error(`No account ${input.accountId}`);
	const origin = input.origin ?? getConfig().origin;
	if (!origin) throw new Error('Enrolment links need ORIGIN (the public URL) to be configured');

	const token = encodeBase64urlNoPadding(randomBytes(32));
	const expiresAt = new Date(now.getTime() + ENROLMENT_LIFETIME_MS);
	await executor
		.delete(enrolment)
		.where(and(eq(enrolment.accountId, target.id), isNull(enrolment.usedAt)));
	const [created] = await executor
		.insert(enrolment)
		.values({
			accountId: target.id,
			tokenHash: hashToken(token),
			purpose: input.purpose,
			requestedBy: input.requestedBy,
			createdAt: now,
			expiresAt
		})
		.returning({ id: enrolment.id });
	await audit.append(executor, {
		...input.context,
		action: 'auth.enrolment_sent',
		outcome: 'allowed',
		target: { type: 'account', id: target.id },
		details: {
			purpose: input.purpose,
			enrolmentId: created!.id,
			expiresAt: expiresAt.toISOString()
		}
	});

	const link = `${origin.replace(/\/+$/, '')}/enrol/${token}`;
	const message: MailMessage = {
		to: target.email,
		subject:
			input.purpose === 'enrol'
				? 'JISS Intranet: set up your account / アカウントの設定'
				: 'JISS Intranet: reset your sign-in / サインイン情報の再設定',
		text: linkText(input.purpose, link, expiresAt)
	};
	return {
		enrolmentId: created!.id,
		expiresAt,
		send: () => getMailer().send(message)
	};
}

/**
 * Withdraws the account's unused links, in the caller's transaction (disabling it): a link
 * mailed before must not work again if the account is enabled later. Returns how many.
 */
export async function revokeUnused(executor: Executor, accountId: number): Promise<number> {
	const deleted = await executor
		.delete(enrolment)
		.where(and(eq(enrolment.accountId, accountId), isNull(enrolment.usedAt)))
		.returning({ id: enrolment.id });
	return deleted.length;
}

export interface OpenEnrolment {
	enrolmentId: number;
	accountId: number;
	email: string;
	displayName: string;
	roles: Role[];
	purpose: EnrolmentPurpose;
	expiresAt: Date;
}

/** The unused, unexpired link for a token, of an account that is not disabled; else null. */
export async function lookup(
	executor: Executor,
	token: string,
	now: Date = new Date()
): Promise<OpenEnrolment | null> {
	if (!isTokenShaped(token)) return null;
	const [row] = await executor
		.select({
			enrolmentId: enrolment.id,
			accountId: account.id,
			email: account.email,
			displayName: account.displayName,
			roles: account.roles,
			status: account.status,
			purpose: enrolment.purpose,
			expiresAt: enrolment.expiresAt,
			usedAt: enrolment.usedAt
		})
		.from(enrolment)
		.innerJoin(account, eq(account.id, enrolment.accountId))
		.where(eq(enrolment.tokenHash, hashToken(token)))
		.limit(1);
	if (!row || row.usedAt !== null || row.expiresAt <= now || row.status === 'disabled') return null;
	return {
		enrolmentId: row.enrolmentId,
		accountId: row.accountId,
		email: row.email,
		displayName: row.displayName,
		roles: row.roles,
		purpose: row.purpose,
		expiresAt: row.expiresAt
	};
}

export type CompleteResult =
	| { kind: 'invalid_link' }
	| { kind: 'password'; problem: PasswordProblem }
	| { kind: 'bad_secret' }
	| { kind: 'wrong_code' }
	| { kind: 'done'; recoveryCodes: string[]; email: string };

export interface CompleteInput {
	token: string;
	password: string;
	confirm: string;
	/** The authenticator secret shown on the page (base32), echoed back by the form. */
	secret: string;
	code: string;
}

/**
 * Uses a link: sets the password, the authenticator secret (proved by a current code) and ten
 * new recovery codes, activates the account and ends any session it had. The link is consumed
 * by a conditional update, so two racing submissions cannot both use it.
 */
export async function complete(
	input: CompleteInput,
	context: audit.AuditContext,
	now: Date = new Date()
): Promise<CompleteResult> {
	const db = getDb();
	const open = await lookup(db, input.token, now);
	if (!open) return { kind: 'invalid_link' };
	const problem = checkNewPassword(input.password, { email: open.email });
	if (problem) return { kind: 'password', problem };
	if (!samePassword(input.password, input.confirm))
		return { kind: 'password', problem: 'mismatch' };
	const secret = parseSecret(input.secret);
	if (!secret) return { kind: 'bad_secret' };
	const step = totp.matchingStep(secret, input.code.replace(/\s/g, ''), now);
	if (step === null) {
		// A second factor that failed, as at sign-in and on a new authenticator (never the code).
		await audit.record({
			...context,
			actor: { id: open.accountId, name: open.displayName, roles: open.roles },
			action: 'auth.mfa',
			outcome: 'failed',
			target: { type: 'account', id: open.accountId },
			details: { method: 'totp', reason: 'wrong_code', purpose: `enrolment:${open.purpose}` }
		});
		return { kind: 'wrong_code' };
	}
	const passwordHash = await hashPassword(input.password);
	const sealed = totp.sealSecret(secret);

	return db.transaction(async (tx) => {
		const consumed = await tx
			.update(enrolment)
			.set({ usedAt: now })
			.where(
				and(
					eq(enrolment.id, open.enrolmentId),
					isNull(enrolment.usedAt),
					gt(enrolment.expiresAt, now)
				)
			)
			.returning({ id: enrolment.id });
		if (consumed.length === 0) return { kind: 'invalid_link' } as const;
		const [updated] = await tx
			.update(account)
			.set({
				passwordHash,
				totpSecret: sealed.value,
				totpKeyId: sealed.keyId,
				totpLastStep: totp.laterStep(step),
				// The code just proven counts as an accepted one: wrong codes typed with the old
				// password no longer bring the new one closer to a lockout.
				secondFactorFailures: 0,
				status: 'active'
			})
			.where(and(eq(account.id, open.accountId), ne(account.status, 'disabled')))
			.returning({ id: account.id, displayName: account.displayName, roles: account.roles });
		if (!updated) tx.rollback();
		const codes = await recoveryCodes.regenerate(tx, open.accountId);
		const ended = await sessions.endAllForAccount(tx, open.accountId);
		const actor = { id: updated!.id, name: updated!.displayName, roles: updated!.roles };
		const target = { type: 'account', id: open.accountId };
		await audit.appendMany(tx, [
			{
				...context,
				actor,
				action: 'auth.enrolment_used',
				outcome: 'allowed',
				target,
				details: { purpose: open.purpose, enrolmentId: open.enrolmentId, sessionsEnded: ended }
			},
			{
				...context,
				actor,
				action: 'auth.password_changed',
				outcome: 'allowed',
				target,
				details: { via: open.purpose }
			},
			{
				...context,
				actor,
				action: 'auth.totp_enrolled',
				outcome: 'allowed',
				target,
				details: { via: open.purpose, recoveryCodes: codes.length }
			}
		]);
		return { kind: 'done', recoveryCodes: codes, email: open.email } as const;
	});
}

/** A 20-byte secret written in base32, or null. */
export function parseSecret(text: string): Uint8Array | null {
	if (!/^[A-Z2-7]{32}$/.test(text)) return null;
	try {
		const bytes = decodeBase32IgnorePadding(text);
		return bytes.length === 20 ? bytes : null;
	} catch {
		return null;
	}
}
