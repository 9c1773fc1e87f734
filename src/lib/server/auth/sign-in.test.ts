import { hash } from '@node-rs/argon2';
import { generateHOTP } from '@oslojs/otp';
import { and, desc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import {
	auditFor,
	createAccount,
	createAuthFixture,
	currentCode,
	lastAuditEvents,
	type AuthFixture
} from '../../../../tests/helpers/auth-fixture';
import { account, auditEvent, session, throttle } from '../db/schema';
import { getConfig, setConfig } from '../config';
import { getMailer, setMailer, type Mailer, type MailMessage } from '../mail';
import { DEMO_ACCOUNTS } from '../seed/demo-data';
import * as recoveryCodes from './recovery-codes';
import * as sessions from './sessions';
import * as background from '../background';
import { checkNewPassword } from './password-policy';
import * as signIn from './sign-in';
import { stepAt } from './totp';
import { call, requestEvent } from '../../../../tests/helpers/vault-events';
import * as signInPage from '../../../routes/(auth)/sign-in/+page.server';

let fixture: AuthFixture;
beforeAll(async () => {
	fixture = await createAuthFixture({ MFA_REQUIRED_FOR_ALL: 'true' });
});
afterAll(async () => {
	// Lockout notices go out in the background: none may still use the database when it closes.
	await background.settled();
	await fixture?.close();
});

const context: signIn.SignInContext = {
	ip: '198.51.100.7',
	userAgent: 'vitest',
	requestId: 'test-request'
};

async function pendingFor(person: { email: string; password: string }) {
	const result = await signIn.passwordStep(person, context);
	if (result.kind !== 'second_factor')
		throw new Error(`expected second factor, got ${result.kind}`);
	return result.token;
}

/** A waiting session of an account that the next wrong code locks out. */
async function oneCodeFromLockout(person: { id: number; email: string; password: string }) {
	const token = await pendingFor(person);
	await fixture.db
		.update(account)
		.set({ secondFactorFailures: signIn.SECOND_FACTOR_LOCKOUT - 1 })
		.where(eq(account.id, person.id));
	return token;
}

/** This test's mail goes to `send`; the fixture's outbox takes it again after the test. */
function mailThrough(send: Mailer['send']) {
	const fixtureMailer = getMailer();
	setMailer({ send });
	onTestFinished(() => setMailer(fixtureMailer));
}

describe('password step', () => {
	it('answers the same for an unknown email, a wrong password and a disabled account', async () => {
		const person = await createAccount(fixture);
		const disabled = await createAccount(fixture, { status: 'disabled' });
		const pending = await createAccount(fixture, { status: 'pending' });

		const results = [
			await signIn.passwordStep(
				{ email: 'nobody@jiss.example', password: 'whatever it is' },
				context
			),
			await signIn.passwordStep({ email: person.email, password: 'not the password' }, context),
			await signIn.passwordStep({ email: disabled.email, password: disabled.password }, context),
			await signIn.passwordStep({ email: pending.email, password: pending.password }, context)
		];
		for (const result of results) expect(result).toEqual({ kind: 'failed' });

		// The true reason is kept server-side, in the audit log.
		const reasons = async (id: number) =>
			(await auditFor(fixture.db, id)).map((e) => [e.action, e.outcome, e.details.reason]);
		expect(await reasons(person.id)).toContainEqual(['auth.sign_in', 'failed', 'wrong_password']);
		expect(await reasons(disabled.id)).toContainEqual(['auth.sign_in', 'failed', 'disabled']);
		expect(await reasons(pending.id)).toContainEqual(['auth.sign_in', 'failed', 'not_enrolled']);
		expect(await fixture.db.select().from(session)).toHaveLength(0);
	});

	it('keeps the typed email for auditors, but never text without an @ (a password in the wrong box)', async () => {
		const here = { ...context, ip: '203.0.113.73' };
		await signIn.passwordStep({ email: 'nobody@jiss.example', password: 'whatever it is' }, here);
		const [known] = await lastAuditEvents(fixture.db);
		expect(known!.details).toMatchObject({ reason: 'unknown_email', email: 'nobody@jiss.example' });
		await signIn.passwordStep({ email: 'correct horse orbit', password: 'x' }, here);
		const [withheld] = await lastAuditEvents(fixture.db);
		expect(withheld!.details).toEqual({
			reason: 'unknown_email',
			email: null,
			emailWithheld: 'no_at_sign',
			emailLength: 19
		});
		expect(JSON.stringify(withheld)).not.toContain('horse');
	});

	it('matches the email case-insensitively and asks for the second factor', async () => {
		const person = await createAccount(fixture);
		const result = await signIn.passwordStep(
			{ email: `  ${person.email.toUpperCase()} `, password: person.password },
			context
		);
		expect(result.kind).toBe('second_factor');
		if (result.kind !== 'second_factor') return;
		// Not signed in yet: the session is useless outside the sign-in page.
		expect(await sessions.validate(fixture.db, result.token)).toBeNull();
	});

	it('refuses a 1 MB password at once, without hashing it', async () => {
		const person = await createAccount(fixture);
		const result = await signIn.passwordStep(
			{ email: person.email, password: 'x'.repeat(1_000_000) },
			context
		);
		expect(result).toEqual({ kind: 'too_long' });
	});

	it('measures length as the password rules do: any password that can be set signs in', async () => {
		// 128 characters outside the Basic Multilingual Plane: 256 UTF-16 units (not letters NFKC
		// rewrites, such as mathematical ones, which it spells in ASCII).
		const longest = '🛰'.repeat(128);
		expect(checkNewPassword(longest, { email: 'x@jiss.example', mode: 'demo' })).toBeNull();
		const person = await createAccount(fixture, { password: longest });
		const here = { ...context, ip: '203.0.113.71' };
		expect((await signIn.passwordStep({ email: person.email, password: longest }, here)).kind).toBe(
			'second_factor'
		);
		const over = longest + '🛰';
		expect(checkNewPassword(over, { email: 'x@jiss.example', mode: 'demo' })).toBe('too_long');
		expect(await signIn.passwordStep({ email: person.email, password: over }, here)).toEqual({
			kind: 'too_long'
		});
	});

	it('signs in with the password typed in another width or composition', async () => {
		const person = await createAccount(fixture, { password: 'ガイド 2026 の軌道を見よ' });
		const here = { ...context, ip: '203.0.113.73' };
		for (const typed of [
			'ｶﾞｲﾄﾞ ２０２６ の軌道を見よ',
			'カ\u3099イト\u3099\u30002026 の軌道を見よ'
		]) {
			expect((await signIn.passwordStep({ email: person.email, password: typed }, here)).kind).toBe(
				'second_factor'
			);
		}
	});

	it('accepts a password set before normalisation as typed, once, then in any typing', async () => {
		const typed = 'ｏｌｄ ｐａｓｓｗｏｒｄ ２０２４ ｗｉｄｅ';
		const person = await createAccount(fixture);
		const legacy = await hash(typed, { algorithm: 2, memoryCost: 19_456, timeCost: 2 });
		await fixture.db.update(account).set({ passwordHash: legacy }).where(eq(account.id, person.id));
		const here = { ...context, ip: '203.0.113.74' };
		const attempt = (password: string) =>
			signIn.passwordStep({ email: person.email, password }, here);
		// The normalised typing cannot match a hash of the other one yet.
		expect(await attempt('old password 2024 wide')).toEqual({ kind: 'failed' });
		const first = await attempt(typed);
		expect(first.kind).toBe('second_factor');
		const [row] = await fixture.db.select().from(account).where(eq(account.id, person.id));
		expect(row!.passwordHash).not.toBe(legacy);
		expect((await attempt('old password 2024 wide')).kind).toBe('second_factor');
		expect((await attempt(typed)).kind).toBe('second_factor');
		const allowed = (await auditFor(fixture.db, person.id)).filter(
			(e) => e.action === 'auth.sign_in' && e.outcome === 'allowed'
		);
		expect(allowed.map((e) => e.details.passwordRehashed ?? false)).toEqual([true, false, false]);
	});

	it('refuses the published demo passwords in production, in any width, as a wrong password', async () => {
		const demoPassword = DEMO_ACCOUNTS[0]!.password;
		const person = await createAccount(fixture, { password: demoPassword });
		const here = { ...context, ip: '203.0.113.72' };
		const attempt = () =>
			signIn.passwordStep({ email: person.email, password: demoPassword }, here);
		expect((await attempt()).kind).toBe('second_factor');
		const demoConfig = getConfig();
		setConfig({ ...demoConfig, mode: 'production' });
		onTestFinished(() => setConfig(demoConfig));
		expect(await attempt()).toEqual({ kind: 'failed' });
		const fullWidth = [...demoPassword]
			.map((c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0))
			.join('');
		expect(await signIn.passwordStep({ email: person.email, password: fullWidth }, here)).toEqual({
			kind: 'failed'
		});
		const [last] = await fixture.db
			.select()
			.from(auditEvent)
			.where(eq(auditEvent.targetId, String(person.id)))
			.orderBy(desc(auditEvent.seq))
			.limit(1);
		expect(last).toMatchObject({
			action: 'auth.sign_in',
			outcome: 'failed',
			details: { reason: 'demo_password' }
		});
	});

	it('audits a too long password as a failed sign-in, never its text, and counts it', async () => {
		const person = await createAccount(fixture);
		const here = { ...context, ip: '203.0.113.70' };
		const now = new Date(Date.now() + 1000);
		const long = 'x'.repeat(129) + 'TOP-SECRET-TAIL';
		for (let i = 0; i < 6; i++) {
			expect(
				await signIn.passwordStep({ email: person.email, password: long }, here, { now })
			).toEqual({ kind: 'too_long' });
		}
		const events = (await auditFor(fixture.db, person.id)).filter(
			(e) => e.action === 'auth.sign_in'
		);
		expect(events).toHaveLength(6);
		for (const event of events) {
			expect(event).toMatchObject({ outcome: 'failed', actorId: person.id });
			expect(event.details).toEqual({
				reason: 'password_too_long',
				email: person.email,
				passwordLength: long.length
			});
		}
		expect(JSON.stringify(events)).not.toContain('TOP-SECRET');
		// Six failures: the email is locked, and now even the right password fails.
		expect(await signIn.passwordStep(person, here, { now })).toEqual({ kind: 'failed' });
	});

	it('survives NUL and right-to-left characters in the fields', async () => {
		const person = await createAccount(fixture, { password: 'pass\u202Eword\u0000 with NUL ok' });
		for (const email of [`${person.email}\u0000`, `\u202E${person.email}`, '\u0000', '\uD800@x']) {
			expect(await signIn.passwordStep({ email, password: person.password }, context)).toEqual({
				kind: 'failed'
			});
		}
		const result = await signIn.passwordStep(
			{ email: person.email, password: 'pass\u202Eword\u0000 with NUL ok' },
			context
		);
		expect(result.kind).toBe('second_factor');
	});
});

describe('second step', () => {
	it('accepts the current code once, issues a new token and rejects a replay', async () => {
		const person = await createAccount(fixture);
		const pendingToken = await pendingFor(person);
		const code = currentCode(person.totpSecret!);

		const result = await signIn.secondFactorStep(pendingToken, code, context);
		expect(result.kind).toBe('signed_in');
		if (result.kind !== 'signed_in') return;
		expect(result.token).not.toBe(pendingToken);
		expect(await sessions.validate(fixture.db, pendingToken, { allowPending: true })).toBeNull();
		const valid = await sessions.validate(fixture.db, result.token);
		expect(valid?.session.mfaVerified).toBe(true);

		// Same code again, from a fresh password step: refused.
		const again = await pendingFor(person);
		expect(await signIn.secondFactorStep(again, code, context)).toEqual({ kind: 'failed' });
		const events = await auditFor(fixture.db, person.id);
		expect(events.map((e) => [e.action, e.outcome, e.details.reason])).toContainEqual([
			'auth.mfa',
			'failed',
			'code_reused'
		]);
	});

	it('accepts the neighbouring steps and nothing further', async () => {
		const person = await createAccount(fixture);
		const step = stepAt(new Date());
		const codeAt = (s: number) => generateHOTP(person.totpSecret!, BigInt(s), 6);
		for (const far of [step - 3, step + 3]) {
			const token = await pendingFor(person);
			if (codeAt(far) === codeAt(step + 1) || codeAt(far) === codeAt(step)) continue;
			expect(await signIn.secondFactorStep(token, codeAt(far), context)).toEqual({
				kind: 'failed'
			});
		}
		const token = await pendingFor(person);
		expect((await signIn.secondFactorStep(token, codeAt(step + 1), context)).kind).toBe(
			'signed_in'
		);
		// An older code than the last accepted one is a replay too.
		const older = await pendingFor(person);
		expect(await signIn.secondFactorStep(older, codeAt(step), context)).toEqual({ kind: 'failed' });
	});

	it('takes a recovery code once', async () => {
		const person = await createAccount(fixture);
		const codes = await recoveryCodes.regenerate(fixture.db, person.id);
		expect(codes).toHaveLength(10);
		expect(new Set(codes).size).toBe(10);

		const first = await pendingFor(person);
		const typed = codes[3]!.toLowerCase().replaceAll('-', ' ');
		const result = await signIn.secondFactorStep(first, typed, context);
		expect(result).toMatchObject({ kind: 'signed_in', method: 'recovery' });

		const second = await pendingFor(person);
		expect(await signIn.secondFactorStep(second, codes[3]!, context)).toEqual({ kind: 'failed' });
		expect(await recoveryCodes.remaining(fixture.db, person.id)).toBe(9);
		const actions = (await auditFor(fixture.db, person.id)).map((e) => e.action);
		expect(actions).toContain('auth.recovery_code_used');
	});

	it('needs a waiting session: a full one, a tampered or no token will not do', async () => {
		const person = await createAccount(fixture);
		const code = currentCode(person.totpSecret!);
		const full = await sessions.create(fixture.db, { accountId: person.id, mfaVerified: true });
		expect(await signIn.secondFactorStep(full.token, code, context)).toEqual({
			kind: 'no_pending'
		});
		expect(await signIn.secondFactorStep(undefined, code, context)).toEqual({ kind: 'no_pending' });
		const pending = await pendingFor(person);
		// Another last character (a fixed one would sometimes be the same).
		const tampered = pending.slice(0, -1) + (pending.endsWith('a') ? 'b' : 'a');
		expect(await signIn.secondFactorStep(tampered, code, context)).toEqual({
			kind: 'no_pending'
		});
		// A wrong code leaves the waiting session in place for another try.
		const step = stepAt(new Date());
		const window = [-1, 0, 1, 2].map((d) => generateHOTP(person.totpSecret!, BigInt(step + d), 6));
		const wrong = ['000000', '111111', '222222', '333333', '444444', '555555'].find(
			(c) => !window.includes(c)
		)!;
		expect(await signIn.secondFactorStep(pending, wrong, context)).toEqual({ kind: 'failed' });
		expect((await signIn.secondFactorStep(pending, code, context)).kind).toBe('signed_in');
	});

	it('records the sign-in time and the sign-out', async () => {
		const person = await createAccount(fixture);
		const result = await signIn.secondFactorStep(
			await pendingFor(person),
			currentCode(person.totpSecret!),
			context
		);
		if (result.kind !== 'signed_in') throw new Error('not signed in');
		const [row] = await fixture.db.select().from(account).where(eq(account.id, person.id));
		expect(row!.lastSignInAt).not.toBeNull();
		await signIn.signOut(
			result.session.id,
			{ id: person.id, displayName: 'Person', roles: ['staff'] },
			context
		);
		expect(await sessions.validate(fixture.db, result.token)).toBeNull();
		const actions = (await auditFor(fixture.db, person.id)).map((e) => [e.action, e.outcome]);
		expect(actions).toContainEqual(['auth.sign_out', 'allowed']);
		expect(actions).toContainEqual(['auth.mfa', 'allowed']);
	});
});

describe('throttling', () => {
	it('locks password guessing per email with growing delays, never saying so', async () => {
		const person = await createAccount(fixture);
		const here = { ...context, ip: '203.0.113.10' };
		const t0 = new Date(Date.now() + 1000);
		for (let i = 0; i < 5; i++) {
			const result = await signIn.passwordStep(
				{ email: person.email, password: `guess ${i}` },
				here,
				{ now: t0 }
			);
			expect(result).toEqual({ kind: 'failed' });
		}
		// The sixth failure starts a 2 s lock: now even the right password fails, the same way.
		await signIn.passwordStep({ email: person.email, password: 'guess 5' }, here, { now: t0 });
		expect(await signIn.passwordStep(person, here, { now: t0 })).toEqual({ kind: 'failed' });
		// From another address too: the lock is on the account's email, not only the IP.
		expect(await signIn.passwordStep(person, { ...here, ip: '203.0.113.11' }, { now: t0 })).toEqual(
			{ kind: 'failed' }
		);
		const reasons = (await auditFor(fixture.db, person.id)).map((e) => e.details.reason);
		expect(reasons).toContain('throttled');

		// A further failure after the lock doubles it (4 s).
		const t1 = new Date(t0.getTime() + 2_100);
		await signIn.passwordStep({ email: person.email, password: 'guess 6' }, here, { now: t1 });
		const t2 = new Date(t1.getTime() + 3_000);
		expect(await signIn.passwordStep(person, here, { now: t2 })).toEqual({ kind: 'failed' });
		const t3 = new Date(t1.getTime() + 4_100);
		expect((await signIn.passwordStep(person, here, { now: t3 })).kind).toBe('second_factor');
	});

	it('treats unknown emails the same way', async () => {
		const here = { ...context, ip: '203.0.113.20' };
		const now = new Date(Date.now() + 1000);
		for (let i = 0; i < 7; i++) {
			expect(
				await signIn.passwordStep({ email: 'ghost@jiss.example', password: `g${i}` }, here, { now })
			).toEqual({ kind: 'failed' });
		}
		const rows = await fixture.db.select().from(throttle);
		expect(rows.some((r) => r.key.startsWith('email:') && r.lockedUntil !== null)).toBe(true);
		// Email addresses are not kept in clear in the throttle table.
		expect(rows.every((r) => !r.key.includes('ghost'))).toBe(true);
	});

	it('locks an IP that tries many accounts', async () => {
		const here = { ...context, ip: '203.0.113.30' };
		const now = new Date(Date.now() + 1000);
		for (let i = 0; i < 21; i++) {
			await signIn.passwordStep(
				{ email: `spray${i}@jiss.example`, password: 'Summer2026!' },
				here,
				{
					now
				}
			);
		}
		const person = await createAccount(fixture);
		expect(await signIn.passwordStep(person, here, { now })).toEqual({ kind: 'failed' });
		expect(
			(await signIn.passwordStep(person, { ...context, ip: '203.0.113.31' }, { now })).kind
		).toBe('second_factor');
	});

	/**
	 * Wrong codes sent far enough apart (16 minutes, longer than the longest delay) that the
	 * delays of throttle.ts never refuse one: only the count in a row can stop them.
	 */
	async function slowWrongCodes(
		person: { totpSecret: Uint8Array | null },
		token: string,
		count: number,
		start: Date,
		here: signIn.SignInContext
	): Promise<{ results: string[]; next: Date }> {
		const results: string[] = [];
		let now = start;
		for (let i = 0; i < count; i++) {
			const code = wrongCodeAt(person.totpSecret!, now, i);
			results.push((await signIn.secondFactorStep(token, code, here, { now })).kind);
			now = new Date(now.getTime() + 16 * 60_000);
		}
		return { results, next: now };
	}

	it('locks the account after SECOND_FACTOR_LOCKOUT wrong codes in a row, however slowly they come', async () => {
		const person = await createAccount(fixture);
		const administrator = await createAccount(fixture, { roles: ['administrator'] });
		const formerAdministrator = await createAccount(fixture, {
			roles: ['administrator'],
			status: 'disabled'
		});
		const sent: MailMessage[] = [];
		mailThrough(async (message) => void sent.push(message));
		const here = { ...context, ip: '203.0.113.50' };
		const elsewhere = await sessions.create(fixture.db, {
			accountId: person.id,
			mfaVerified: true
		});
		const token = await pendingFor(person);
		const limit = signIn.SECOND_FACTOR_LOCKOUT;

		const first = await slowWrongCodes(person, token, limit - 1, new Date(), here);
		// None was refused by a delay: each was checked, and each failed as a wrong code does.
		expect(first.results).toEqual(Array(limit - 1).fill('failed'));
		expect(sent).toEqual([]);
		const [before] = await fixture.db.select().from(account).where(eq(account.id, person.id));
		expect(before).toMatchObject({ status: 'active', secondFactorFailures: limit - 1 });

		const last = await slowWrongCodes(person, token, 1, first.next, here);
		expect(last.results).toEqual(['locked']);
		const [after] = await fixture.db.select().from(account).where(eq(account.id, person.id));
		expect(after!.status).toBe('disabled');
		expect(after!.disabledAt).not.toBeNull();
		// Every session ended: the one waiting for the code and the one open elsewhere.
		expect(
			await fixture.db.select().from(session).where(eq(session.accountId, person.id))
		).toHaveLength(0);
		expect(await sessions.validate(fixture.db, elsewhere.token)).toBeNull();
		const lockouts = await fixture.db
			.select()
			.from(auditEvent)
			.where(
				and(eq(auditEvent.action, 'auth.locked_out'), eq(auditEvent.targetId, String(person.id)))
			);
		expect(lockouts).toHaveLength(1);
		expect(lockouts[0]).toMatchObject({ actorId: person.id, outcome: 'denied' });
		expect(lockouts[0]!.details).toMatchObject({
			failures: limit,
			before: { status: 'active' },
			after: { status: 'disabled' },
			sessionsEnded: 2
		});
		// The person is told at their own address, and so is every active administrator (after
		// the answer: the notices go out in the background).
		const to = (address: string) => sent.filter((message) => message.to === address);
		await expect.poll(() => to(administrator.email).length).toBe(1);
		expect(to(person.email)).toHaveLength(1);
		expect(to(person.email)[0]!.text).toContain(`${limit} wrong codes in a row`);
		expect(to(administrator.email)).toHaveLength(1);
		expect(to(administrator.email)[0]!.text).toContain(`${person.email}, id ${person.id}`);
		expect(to(formerAdministrator.email)).toHaveLength(0);

		// The right code comes too late, and the right password no longer opens a waiting session.
		const later = new Date(last.next.getTime() + 60 * 60_000);
		expect(
			await signIn.secondFactorStep(token, currentCode(person.totpSecret!), here, { now: later })
		).toEqual({ kind: 'no_pending' });
		expect(await signIn.passwordStep(person, here, { now: later })).toEqual({ kind: 'failed' });
		const reasons = (await auditFor(fixture.db, person.id)).map((e) => e.details.reason);
		expect(reasons.at(-1)).toBe('disabled');
	});

	it('answers at once when the mail relay does not', async () => {
		const person = await createAccount(fixture);
		const token = await oneCodeFromLockout(person);
		let attempted = 0;
		let answer = () => {};
		const silent = new Promise<void>((resolve) => (answer = resolve));
		mailThrough(() => (attempted++, silent));
		onTestFinished(answer);
		const here = { ...context, ip: '203.0.113.70' };
		expect(
			await signIn.secondFactorStep(token, wrongCodeAt(person.totpSecret!, new Date()), here)
		).toEqual({ kind: 'locked' });
		// The notice was handed to the relay, which never answered; the lock did not wait for it.
		await expect.poll(() => attempted).toBe(1);
		const [row] = await fixture.db.select().from(account).where(eq(account.id, person.id));
		expect(row!.status).toBe('disabled');
	});

	it('starts the count again at each accepted code', async () => {
		const person = await createAccount(fixture);
		const here = { ...context, ip: '203.0.113.60' };
		const limit = signIn.SECOND_FACTOR_LOCKOUT;
		const token = await pendingFor(person);
		const first = await slowWrongCodes(person, token, limit - 1, new Date(), here);
		expect(first.results).toEqual(Array(limit - 1).fill('failed'));
		const rightThen = generateHOTP(person.totpSecret!, BigInt(stepAt(first.next)), 6);
		const accepted = await signIn.secondFactorStep(token, rightThen, here, { now: first.next });
		expect(accepted.kind).toBe('signed_in');

		const again = await pendingFor(person);
		const second = await slowWrongCodes(person, again, limit - 1, first.next, here);
		expect(second.results).toEqual(Array(limit - 1).fill('failed'));
		const [row] = await fixture.db.select().from(account).where(eq(account.id, person.id));
		expect(row).toMatchObject({ status: 'active', secondFactorFailures: limit - 1 });
	});

	it('lets no right code slip past the wrong code that locks the account out', async () => {
		for (let round = 0; round < 3; round++) {
			const person = await createAccount(fixture);
			const attacker = await oneCodeFromLockout(person);
			const owner = await pendingFor(person);
			const step = stepAt(new Date());
			const window = [-1, 0, 1].map((d) => generateHOTP(person.totpSecret!, BigInt(step + d), 6));
			let wrong = 100000;
			while (window.includes(String(wrong))) wrong++;
			// Sent together, from two places: whichever is first, the other must see its outcome.
			const [guessed, typed] = await Promise.all([
				signIn.secondFactorStep(attacker, String(wrong), { ...context, ip: '203.0.113.80' }),
				signIn.secondFactorStep(owner, currentCode(person.totpSecret!), {
					...context,
					ip: '203.0.113.81'
				})
			]);
			const [row] = await fixture.db.select().from(account).where(eq(account.id, person.id));
			const live = await fixture.db.select().from(session).where(eq(session.accountId, person.id));
			if (guessed.kind === 'locked') {
				expect(typed.kind).toBe('no_pending');
				expect(row).toMatchObject({ status: 'disabled' });
				expect(row!.secondFactorFailures).toBeGreaterThanOrEqual(signIn.SECOND_FACTOR_LOCKOUT);
				expect(live).toEqual([]);
			} else {
				// The owner's code came first: the count starts again, nobody is locked out.
				expect(typed.kind).toBe('signed_in');
				expect(guessed.kind).toBe('failed');
				expect(row).toMatchObject({ status: 'active', secondFactorFailures: 1 });
			}
		}
	});

	it('locks guessing of the second factor', async () => {
		const person = await createAccount(fixture);
		const here = { ...context, ip: '203.0.113.40' };
		const pending = await signIn.passwordStep(person, here);
		if (pending.kind !== 'second_factor') throw new Error('expected second factor');
		const step = stepAt(new Date());
		const window = [-1, 0, 1].map((d) => generateHOTP(person.totpSecret!, BigInt(step + d), 6));
		let guess = 100000;
		for (let i = 0; i < 6; i++) {
			while (window.includes(String(guess))) guess++;
			expect(await signIn.secondFactorStep(pending.token, String(guess++), here)).toEqual({
				kind: 'failed'
			});
		}
		// Locked: the right code fails now, exactly like a wrong one.
		const right = currentCode(person.totpSecret!);
		expect(await signIn.secondFactorStep(pending.token, right, here)).toEqual({ kind: 'failed' });
		const later = new Date(Date.now() + 2_500);
		expect((await signIn.secondFactorStep(pending.token, right, here, { now: later })).kind).toBe(
			'signed_in'
		);
	});
});

describe('the sign-in page', () => {
	it('says the account is locked, and forgets the waiting session, when a code locks it', async () => {
		const person = await createAccount(fixture);
		const token = await oneCodeFromLockout(person);
		// The browser's cookies, as SvelteKit's jar for this request holds them.
		const jar = new Map([['session', token]]);
		const event = requestEvent({
			user: null,
			path: '/sign-in?/code',
			form: { code: wrongCodeAt(person.totpSecret!, new Date()), next: '/' }
		});
		Object.assign(event.cookies, {
			get: (name: string) => jar.get(name),
			delete: (name: string) => void jar.delete(name)
		});
		const answer = await call(event, (e) => signInPage.actions.code!(e as never));
		expect(answer).toMatchObject({ status: 400, data: { message: 'locked' } });
		expect(jar.has('session')).toBe(false);
		const [row] = await fixture.db.select().from(account).where(eq(account.id, person.id));
		expect(row!.status).toBe('disabled');
	});
});

/** A 6-digit code that is wrong at `now` (none of the three steps accepted around it). */
function wrongCodeAt(secret: Uint8Array, now: Date, seed = 0): string {
	const step = stepAt(now);
	const window = [-1, 0, 1].map((d) => generateHOTP(secret, BigInt(step + d), 6));
	let guess = 100000 + seed;
	while (window.includes(String(guess))) guess++;
	return String(guess);
}
