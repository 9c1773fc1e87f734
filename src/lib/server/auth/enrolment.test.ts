import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { encodeBase32UpperCaseNoPadding } from '@oslojs/encoding';
import { generateTOTP } from '@oslojs/otp';
import path from 'node:path';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
	auditFor,
	createAccount,
	createAuthFixture,
	type AuthFixture
} from '../../../../tests/helpers/auth-fixture';
import { account, auditEvent, enrolment } from '../db/schema';
import { DEMO_ACCOUNTS } from '../seed/demo-data';
import * as enrolments from './enrolment';
import { verifyPasswordHash } from './password';
import { checkNewPassword } from './password-policy';
import * as signIn from './sign-in';
import { openSecret } from './totp';

let fixture: AuthFixture;
beforeAll(async () => {
	fixture = await createAuthFixture();
});
afterAll(async () => {
	await fixture?.close();
});

function outbox(): string[] {
	const dir = path.join(fixture.dataDir, 'outbox');
	try {
		return readdirSync(dir)
			.sort()
			.map((f) => readFileSync(path.join(dir, f), 'utf8'));
	} catch {
		return [];
	}
}

describe('issuing an enrolment link', () => {
	it('stores only the hash, expires in 72 hours, audits, and mails after the commit', async () => {
		const person = await createAccount(fixture, { status: 'pending', totp: false });
		const now = new Date('2030-05-01T00:00:00Z');
		const before = outbox().length;
		const issued = await fixture.db.transaction((tx) =>
			enrolments.issue(tx, {
				accountId: person.id,
				purpose: 'enrol',
				requestedBy: null,
				context: { ip: '203.0.113.5', requestId: 'r1' },
				now
			})
		);
		// Nothing is sent by issuing: the caller sends once its transaction has committed.
		expect(outbox()).toHaveLength(before);
		await issued.send();
		const mails = outbox();
		expect(mails).toHaveLength(before + 1);
		const mail = mails.at(-1)!;
		expect(mail).toContain(`To: ${person.email}`);
		const token = /\/enrol\/([A-Za-z0-9_-]+)/.exec(mail)![1]!;
		expect(mail).toContain(`http://127.0.0.1:5173/enrol/${token}`);
		expect(enrolments.isTokenShaped(token)).toBe(true);

		const [row] = await fixture.db
			.select()
			.from(enrolment)
			.where(eq(enrolment.id, issued.enrolmentId));
		expect(Buffer.from(row!.tokenHash)).toEqual(Buffer.from(enrolments.hashToken(token)));
		expect(Buffer.from(row!.tokenHash).toString('utf8')).not.toContain(token);
		expect(row!.expiresAt.getTime() - now.getTime()).toBe(72 * 3600 * 1000);
		const events = await auditFor(fixture.db, person.id);
		expect(events.map((e) => [e.action, e.details.purpose])).toContainEqual([
			'auth.enrolment_sent',
			'enrol'
		]);
		// The token never reaches the audit log.
		expect(JSON.stringify(events)).not.toContain(token);
	});

	it('sends nothing when the transaction rolls back, and replaces earlier unused links', async () => {
		const person = await createAccount(fixture, { status: 'pending', totp: false });
		const before = outbox().length;
		let issued: enrolments.IssuedEnrolment | undefined;
		await expect(
			fixture.db.transaction(async (tx) => {
				issued = await enrolments.issue(tx, {
					accountId: person.id,
					purpose: 'enrol',
					requestedBy: null
				});
				throw new Error('the administrator action failed');
			})
		).rejects.toThrow('failed');
		expect(issued).toBeDefined();
		expect(outbox()).toHaveLength(before);
		expect(
			await fixture.db.select().from(enrolment).where(eq(enrolment.accountId, person.id))
		).toHaveLength(0);

		const first = await enrolments.issue(fixture.db, {
			accountId: person.id,
			purpose: 'enrol',
			requestedBy: null
		});
		const second = await enrolments.issue(fixture.db, {
			accountId: person.id,
			purpose: 'reset',
			requestedBy: null
		});
		const rows = await fixture.db
			.select()
			.from(enrolment)
			.where(eq(enrolment.accountId, person.id));
		expect(rows.map((r) => r.id)).toEqual([second.enrolmentId]);
		expect(first.enrolmentId).not.toBe(second.enrolmentId);
	});
});

async function issueFor(accountId: number, now?: Date): Promise<string> {
	const issued = await enrolments.issue(fixture.db, {
		accountId,
		purpose: 'enrol',
		requestedBy: null,
		now
	});
	await issued.send();
	return /\/enrol\/([A-Za-z0-9_-]+)/.exec(outbox().at(-1)!)![1]!;
}

function setupInput(token: string, overrides: Partial<enrolments.CompleteInput> = {}) {
	const secret = new Uint8Array(randomBytes(20));
	return {
		secret,
		input: {
			token,
			password: 'a long and private passphrase',
			confirm: 'a long and private passphrase',
			secret: encodeBase32UpperCaseNoPadding(secret),
			code: generateTOTP(secret, 30, 6),
			...overrides
		}
	};
}

describe('using an enrolment link', () => {
	it('sets password, authenticator and recovery codes, once', async () => {
		const person = await createAccount(fixture, { status: 'pending', totp: false });
		const token = await issueFor(person.id);
		expect((await enrolments.lookup(fixture.db, token))?.accountId).toBe(person.id);
		const { secret, input } = setupInput(token);
		const result = await enrolments.complete(input, { ip: '192.0.2.9' });
		expect(result.kind).toBe('done');
		if (result.kind !== 'done') return;
		expect(result.recoveryCodes).toHaveLength(10);

		const [row] = await fixture.db.select().from(account).where(eq(account.id, person.id));
		expect(row!.status).toBe('active');
		expect(row!.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
		expect(await verifyPasswordHash(row!.passwordHash!, input.password)).toBe('normalised');
		expect(Buffer.from(openSecret(row!.totpKeyId!, row!.totpSecret!))).toEqual(Buffer.from(secret));
		// The secret is stored encrypted, not as it was shown.
		expect(Buffer.from(row!.totpSecret!).includes(Buffer.from(secret))).toBe(false);

		// The person can now sign in with it.
		const signedIn = await signIn.passwordStep(
			{ email: person.email, password: input.password },
			{ ip: '192.0.2.9', userAgent: null }
		);
		expect(signedIn.kind).toBe('second_factor');

		// Used twice: refused, and nothing changes.
		expect(await enrolments.lookup(fixture.db, token)).toBeNull();
		const again = setupInput(token, {
			password: 'another private passphrase',
			confirm: 'another private passphrase'
		});
		expect(await enrolments.complete(again.input, {})).toEqual({ kind: 'invalid_link' });
		const actions = (await auditFor(fixture.db, person.id)).map((e) => e.action);
		expect(actions).toEqual(
			expect.arrayContaining(['auth.enrolment_used', 'auth.password_changed', 'auth.totp_enrolled'])
		);
	});

	it('starts the wrong-code count again: a reset after wrong codes is not a near lockout', async () => {
		const person = await createAccount(fixture);
		await fixture.db
			.update(account)
			.set({ secondFactorFailures: signIn.SECOND_FACTOR_LOCKOUT - 1 })
			.where(eq(account.id, person.id));
		const issued = await enrolments.issue(fixture.db, {
			accountId: person.id,
			purpose: 'reset',
			requestedBy: null
		});
		await issued.send();
		const token = /\/enrol\/([A-Za-z0-9_-]+)/.exec(outbox().at(-1)!)![1]!;
		const { secret, input } = setupInput(token);
		expect((await enrolments.complete(input, {})).kind).toBe('done');
		const [row] = await fixture.db.select().from(account).where(eq(account.id, person.id));
		expect(row).toMatchObject({ status: 'active', secondFactorFailures: 0 });

		// The owner's first typo afterwards is one wrong code, not the twentieth.
		const waiting = await signIn.passwordStep(
			{ email: person.email, password: input.password },
			{ ip: '192.0.2.10', userAgent: null }
		);
		expect(waiting.kind).toBe('second_factor');
		const wrong = String((Number(generateTOTP(secret, 30, 6)) + 1) % 1_000_000).padStart(6, '0');
		const typo = await signIn.secondFactorStep((waiting as { token: string }).token, wrong, {
			ip: '192.0.2.10',
			userAgent: null
		});
		expect(typo.kind).toBe('failed');
	});

	it('refuses an expired link, a tampered token and a disabled account', async () => {
		const person = await createAccount(fixture, { status: 'pending', totp: false });
		const longAgo = new Date(Date.now() - 73 * 3600 * 1000);
		const expired = await issueFor(person.id, longAgo);
		expect(await enrolments.lookup(fixture.db, expired)).toBeNull();
		expect((await enrolments.complete(setupInput(expired).input, {})).kind).toBe('invalid_link');

		const token = await issueFor(person.id);
		for (const bad of [
			token.slice(0, -1),
			token + 'A',
			'',
			'../../etc',
			token.replace(/./, '\u0000')
		]) {
			expect(await enrolments.lookup(fixture.db, bad)).toBeNull();
		}
		await fixture.db.update(account).set({ status: 'disabled' }).where(eq(account.id, person.id));
		expect(await enrolments.lookup(fixture.db, token)).toBeNull();
	});

	it('checks the password policy, the repeated password and the code before using the link', async () => {
		const person = await createAccount(fixture, {
			status: 'pending',
			totp: false,
			email: 'policy.person@jiss.example'
		});
		const token = await issueFor(person.id);
		const cases: [Partial<enrolments.CompleteInput>, unknown][] = [
			[
				{ password: 'short', confirm: 'short' },
				{ kind: 'password', problem: 'too_short' }
			],
			[
				{ password: 'x'.repeat(129), confirm: 'x'.repeat(129) },
				{ kind: 'password', problem: 'too_long' }
			],
			[
				{ password: '123QWEASDZXC', confirm: '123QWEASDZXC' },
				{ kind: 'password', problem: 'common' }
			],
			[
				{ password: 'Policy.Person@jiss.example', confirm: 'Policy.Person@jiss.example' },
				{ kind: 'password', problem: 'same_as_email' }
			],
			[{ confirm: 'something else entirely' }, { kind: 'password', problem: 'mismatch' }],
			[{ code: '12345' }, { kind: 'wrong_code' }],
			[{ secret: 'not base32!' }, { kind: 'bad_secret' }]
		];
		for (const [overrides, expected] of cases) {
			const { input } = setupInput(token, overrides);
			if (overrides.code) input.code = overrides.code;
			expect(await enrolments.complete(input, {}), JSON.stringify(overrides)).toEqual(expected);
		}
		// None of these used up the link.
		expect(await enrolments.lookup(fixture.db, token)).not.toBeNull();
		// The wrong code was a failed second factor, audited without the code.
		const failedCodes = await fixture.db
			.select()
			.from(auditEvent)
			.where(and(eq(auditEvent.action, 'auth.mfa'), eq(auditEvent.actorId, person.id)));
		expect(failedCodes).toHaveLength(1);
		expect(failedCodes[0]).toMatchObject({ outcome: 'failed', targetId: String(person.id) });
		expect(failedCodes[0]!.details).toEqual({
			method: 'totp',
			reason: 'wrong_code',
			purpose: 'enrolment:enrol'
		});
		expect(JSON.stringify(failedCodes[0])).not.toContain('12345');
		// Any characters are allowed, and nothing is cut off.
		const unusual = 'パスワード\u202E\u0000 で 🚀 十分に長い';
		const { input } = setupInput(token, { password: unusual, confirm: unusual });
		expect((await enrolments.complete(input, {})).kind).toBe('done');
		const [row] = await fixture.db.select().from(account).where(eq(account.id, person.id));
		expect(await verifyPasswordHash(row!.passwordHash!, unusual)).toBe('normalised');
		expect(await verifyPasswordHash(row!.passwordHash!, unusual.slice(0, -1))).toBe(false);
	});

	it('refuses the demo passwords in production mode only', () => {
		const demo = DEMO_ACCOUNTS[0]!.password;
		expect(checkNewPassword(demo, { email: 'x@y.z', mode: 'demo' })).toBeNull();
		expect(checkNewPassword(demo, { email: 'x@y.z', mode: 'production' })).toBe('demo_password');
		expect(checkNewPassword('PassWord', { email: 'x@y.z', minLength: 8 })).toBe('common');
		expect(checkNewPassword('ok but 8', { email: 'x@y.z', minLength: 8 })).toBeNull();
		// The minimum never goes below 8, whatever is asked.
		expect(checkNewPassword('sevenxx', { email: 'x@y.z', minLength: 4 })).toBe('too_short');
	});
});
