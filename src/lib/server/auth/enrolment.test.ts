import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
	auditFor,
	createAccount,
	createAuthFixture,
	type AuthFixture
} from '../../../../tests/helpers/auth-fixture';
import { enrolment } from '../db/schema';
import * as enrolments from './enrolment';

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
