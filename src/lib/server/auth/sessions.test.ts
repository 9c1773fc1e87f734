import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
	createAccount,
	createAuthFixture,
	type AuthFixture
} from '../../../../tests/helpers/auth-fixture';
import { account, session } from '../db/schema';
import * as sessions from './sessions';

let fixture: AuthFixture;
beforeAll(async () => {
	fixture = await createAuthFixture({ SESSION_IDLE_MINUTES: '30', SESSION_ABSOLUTE_HOURS: '12' });
});
afterAll(async () => {
	await fixture?.close();
});

const MINUTE = 60_000;

describe('session tokens', () => {
	it('are id.secret with a 160-bit secret, and only the SHA-256 of the secret is stored', async () => {
		const person = await createAccount(fixture);
		const { token, session: created } = await sessions.create(fixture.db, {
			accountId: person.id,
			mfaVerified: true
		});
		expect(token).toMatch(/^[a-z2-7]{24}\.[a-z2-7]{32}$/);
		const [id, secret] = token.split('.');
		expect(created.id).toBe(id);
		const [row] = await fixture.db.select().from(session).where(eq(session.id, id!));
		expect(row!.secretHash).toHaveLength(32);
		expect(Buffer.from(row!.secretHash).toString('hex')).not.toContain(
			Buffer.from(secret!).toString('hex')
		);
		const other = await sessions.create(fixture.db, { accountId: person.id, mfaVerified: true });
		expect(other.token).not.toBe(token);
	});

	it('validate the right secret and refuse tampered tokens', async () => {
		const person = await createAccount(fixture);
		const { token } = await sessions.create(fixture.db, {
			accountId: person.id,
			mfaVerified: true
		});
		const valid = await sessions.validate(fixture.db, token);
		expect(valid?.user.id).toBe(person.id);
		expect(valid?.user.email).toBe(person.email);

		const [id, secret] = token.split('.') as [string, string];
		const flipped = secret.slice(0, -1) + (secret.endsWith('a') ? 'b' : 'a');
		const tampered = [
			`${id}.${flipped}`,
			`${id}.${'a'.repeat(32)}`,
			`${id}.${secret}.extra`,
			`${id}..${secret}`,
			`${id}.${secret}=`,
			`${id}.${Buffer.from(secret).toString('base64')}`,
			`${id}.`,
			`.${secret}`,
			id,
			'',
			'%00',
			`${id}.${secret.toUpperCase()}`,
			`${id}\u0000.${secret}`
		];
		for (const bad of tampered) {
			expect(await sessions.validate(fixture.db, bad), bad).toBeNull();
		}
		expect(await sessions.validate(fixture.db, undefined)).toBeNull();
		// The real token still works: a wrong guess does not end the session.
		expect(await sessions.validate(fixture.db, token)).not.toBeNull();
	});
});

describe('session lifetime', () => {
	it('ends after the idle timeout and deletes the row', async () => {
		const person = await createAccount(fixture);
		const start = new Date('2030-01-01T00:00:00Z');
		const { token, session: created } = await sessions.create(fixture.db, {
			accountId: person.id,
			mfaVerified: true,
			now: start
		});
		const almost = new Date(start.getTime() + 29 * MINUTE);
		expect(await sessions.validate(fixture.db, token, { now: almost })).not.toBeNull();
		// Activity at 29 min slides the window: 58 min is still within 30 min of it.
		const slid = new Date(start.getTime() + 58 * MINUTE);
		expect(await sessions.validate(fixture.db, token, { now: slid })).not.toBeNull();
		const idle = new Date(slid.getTime() + 30 * MINUTE);
		expect(await sessions.validate(fixture.db, token, { now: idle })).toBeNull();
		const rows = await fixture.db.select().from(session).where(eq(session.id, created.id));
		expect(rows).toHaveLength(0);
	});

	it('ends at the absolute lifetime however active the session is', async () => {
		const person = await createAccount(fixture);
		const start = new Date('2030-02-01T00:00:00Z');
		const { token } = await sessions.create(fixture.db, {
			accountId: person.id,
			mfaVerified: true,
			now: start
		});
		let now = start.getTime();
		const end = start.getTime() + 12 * 60 * MINUTE;
		while (now + 20 * MINUTE < end) {
			now += 20 * MINUTE;
			expect(await sessions.validate(fixture.db, token, { now: new Date(now) })).not.toBeNull();
		}
		expect(await sessions.validate(fixture.db, token, { now: new Date(end) })).toBeNull();
	});

	it('uses configurable lifetimes', async () => {
		const person = await createAccount(fixture);
		const start = new Date('2030-03-01T00:00:00Z');
		const lifetimes = { idleMinutes: 5, absoluteHours: 1 };
		const { token } = await sessions.create(fixture.db, {
			accountId: person.id,
			mfaVerified: true,
			now: start,
			lifetimes
		});
		const at = (minutes: number) => ({
			now: new Date(start.getTime() + minutes * MINUTE),
			lifetimes
		});
		expect(await sessions.validate(fixture.db, token, at(4))).not.toBeNull();
		expect(await sessions.validate(fixture.db, token, at(10))).toBeNull();
	});

	it('writes last-seen at most once a minute', async () => {
		const person = await createAccount(fixture);
		const start = new Date('2030-04-01T00:00:00Z');
		const { token, session: created } = await sessions.create(fixture.db, {
			accountId: person.id,
			mfaVerified: true,
			now: start
		});
		const lastSeen = async () =>
			(await fixture.db.select().from(session).where(eq(session.id, created.id)))[0]!.lastSeenAt;
		await sessions.validate(fixture.db, token, { now: new Date(start.getTime() + 59_000) });
		expect((await lastSeen()).getTime()).toBe(start.getTime());
		const later = new Date(start.getTime() + 61_000);
		await sessions.validate(fixture.db, token, { now: later });
		expect((await lastSeen()).getTime()).toBe(later.getTime());
		await sessions.validate(fixture.db, token, { now: new Date(later.getTime() + 30_000) });
		expect((await lastSeen()).getTime()).toBe(later.getTime());
	});

	it('is not accepted while waiting for the second factor, except by the sign-in page', async () => {
		const person = await createAccount(fixture);
		const { token } = await sessions.create(fixture.db, {
			accountId: person.id,
			mfaVerified: false
		});
		expect(await sessions.validate(fixture.db, token)).toBeNull();
		const pending = await sessions.validate(fixture.db, token, { allowPending: true });
		expect(pending?.session.mfaVerified).toBe(false);
		// A waiting session lives minutes, not hours.
		const later = new Date(Date.now() + sessions.PENDING_LIFETIME_MS + 1000);
		expect(
			await sessions.validate(fixture.db, token, { allowPending: true, now: later })
		).toBeNull();
	});

	it('ends when the account is disabled', async () => {
		const person = await createAccount(fixture);
		const { token } = await sessions.create(fixture.db, {
			accountId: person.id,
			mfaVerified: true
		});
		await fixture.db.update(account).set({ status: 'disabled' }).where(eq(account.id, person.id));
		expect(await sessions.validate(fixture.db, token)).toBeNull();
	});
});

describe('ending sessions', () => {
	it('lists, ends one, ends the others and ends all of an account', async () => {
		const person = await createAccount(fixture);
		const stranger = await createAccount(fixture);
		const a = await sessions.create(fixture.db, {
			accountId: person.id,
			mfaVerified: true,
			ip: '192.0.2.1',
			userAgent: 'A'
		});
		const b = await sessions.create(fixture.db, { accountId: person.id, mfaVerified: true });
		const c = await sessions.create(fixture.db, { accountId: person.id, mfaVerified: true });
		const waiting = await sessions.create(fixture.db, { accountId: person.id, mfaVerified: false });
		const theirs = await sessions.create(fixture.db, { accountId: stranger.id, mfaVerified: true });

		// The sign-in waiting for its second factor is listed too, marked as such.
		const listed = await sessions.listForAccount(fixture.db, person.id);
		expect(listed.map((s) => s.id).sort()).toEqual(
			[a, b, c, waiting].map((s) => s.session.id).sort()
		);
		expect(listed.find((s) => s.id === a.session.id)).toMatchObject({
			ip: '192.0.2.1',
			userAgent: 'A',
			pending: false
		});
		expect(listed.filter((s) => s.pending).map((s) => s.id)).toEqual([waiting.session.id]);

		// Someone else's session cannot be ended through one's own account.
		expect(await sessions.endOne(fixture.db, person.id, theirs.session.id)).toBeNull();
		expect(await sessions.validate(fixture.db, theirs.token)).not.toBeNull();

		expect(await sessions.endOne(fixture.db, person.id, b.session.id)).toEqual({ pending: false });
		expect(await sessions.validate(fixture.db, b.token)).toBeNull();
		expect(await sessions.endOne(fixture.db, person.id, waiting.session.id)).toEqual({
			pending: true
		});

		expect(await sessions.endOthers(fixture.db, person.id, a.session.id)).toHaveLength(1);
		expect(await sessions.validate(fixture.db, a.token)).not.toBeNull();
		expect(await sessions.validate(fixture.db, c.token)).toBeNull();

		expect(await sessions.endAllForAccount(fixture.db, person.id)).toBe(1);
		expect(await sessions.validate(fixture.db, a.token)).toBeNull();
		expect(await sessions.validate(fixture.db, theirs.token)).not.toBeNull();
	});
});
