import { sha256 } from '@oslojs/crypto/sha2';
import { encodeBase64urlNoPadding } from '@oslojs/encoding';
import { randomBytes } from 'node:crypto';
import { and, eq, isNull } from 'drizzle-orm';
import * as audit from '../audit';
import { getConfig } from '../config';
import type { Executor } from '../db';
import { account, enrolment } from '../db/schema';
import { getMailer, type MailMessage } from '../mail';

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
			: 'An administrator has reset your sign-in for the JISS Intranet.\nOpen this link to set a new password and authenticator app:';
	const ja =
		purpose === 'enrol'
			? 'JISS イントラネットのアカウントが作成されました。\n次のリンクを開いて、パスワードと認証アプリを設定してください。'
			: 'JISS イントラネットのサインイン情報が管理者によってリセットされました。\n次のリンクを開いて、新しいパスワードと認証アプリを設定してください。';
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
