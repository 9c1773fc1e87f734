import { and, asc, eq, gt, isNull, max } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZodError } from 'zod';
import { createTestDatabase, type TestDatabase } from '../../../../tests/helpers/database';
import { SECOND_FACTOR_LOCKOUT } from '../auth/sign-in';
import { loadConfig, setConfig } from '../config';
import type { Database } from '../db';
import { account, auditEvent, enrolment, level, organisation } from '../db/schema';
import { setMailer, type MailMessage } from '../mail';
import { DEFAULT_LEVELS } from '../seed/reference-data';
import { bootstrap, OPERATOR_ADMINISTRATORS } from './bootstrap';

let database: TestDatabase;
let db: Database;
const outbox: MailMessage[] = [];

beforeAll(async () => {
	database = await createTestDatabase();
	db = database.handle.db;
	setConfig(
		loadConfig({
			INTRANET_MODE: 'demo',
			DATA_DIR: 'tests/.tmp/admin-bootstrap',
			ORIGIN: 'https://intranet.jiss.example'
		})
	);
	setMailer({ send: async (message) => void outbox.push(message) });
});
afterAll(async () => {
	setMailer(undefined);
	await database?.drop();
});

async function headSeq(): Promise<number> {
	const [row] = await db.select({ seq: max(auditEvent.seq) }).from(auditEvent);
	return Number(row?.seq ?? 0);
}

async function eventsAfter(seq: number) {
	return db.select().from(auditEvent).where(gt(auditEvent.seq, seq)).orderBy(asc(auditEvent.seq));
}

async function accountOf(email: string) {
	const [row] = await db.select().from(account).where(eq(account.email, email));
	return row!;
}

const reason = 'First administrators of the new installation';

// One story, in order: each step starts from the database the previous one left.
describe('the operator bootstrap', () => {
	it('makes an empty database usable: the ladder, the home organisation, an administrator with a link', async () => {
		const before = await headSeq();
		const result = await bootstrap(db, {
			email: ' Root@JISS.example ',
			displayName: 'Operator One',
			reason
		});
		expect(result).toMatchObject({
			kind: 'done',
			steps: ['levels_created', 'home_organisation_created', 'administrator_created', 'link_sent']
		});

		const levels = await db.select().from(level).orderBy(asc(level.rank));
		expect(levels.map((l) => l.code)).toEqual(DEFAULT_LEVELS.map((l) => l.code));
		const homes = await db.select().from(organisation).where(eq(organisation.isHome, true));
		expect(homes.map((o) => o.code)).toEqual(['JISS']);
		const root = await accountOf('root@jiss.example');
		expect(root).toMatchObject({
			status: 'pending',
			roles: ['administrator'],
			organisationId: homes[0]!.id,
			passwordHash: null
		});

		// The link goes to the person only; the command printed none of it.
		expect(outbox).toHaveLength(1);
		expect(outbox[0]!.to).toBe('root@jiss.example');
		expect(outbox[0]!.text).toMatch(/https:\/\/intranet\.jiss\.example\/enrol\/[A-Za-z0-9_-]{43}/);
		const links = await db
			.select()
			.from(enrolment)
			.where(and(eq(enrolment.accountId, root.id), isNull(enrolment.usedAt)));
		expect(links.map((l) => l.purpose)).toEqual(['enrol']);

		// Audited, every change, with no actor and the operator's reason.
		const events = await eventsAfter(before);
		expect(events.map((e) => e.action)).toEqual([
			'reference.changed',
			'reference.changed',
			'account.created',
			'auth.enrolment_sent'
		]);
		for (const event of events) expect(event.actorId).toBeNull();
		for (const event of events.slice(0, 3))
			expect(event.details).toMatchObject({ by: 'operator', reason });
	});

	it('adds a second administrator without touching the reference data, and sends a pending one a new link', async () => {
		const second = await bootstrap(db, {
			email: 'second@jiss.example',
			displayName: 'Operator Two',
			reason
		});
		expect(second).toMatchObject({ kind: 'done', steps: ['administrator_created', 'link_sent'] });
		expect(await db.select().from(level)).toHaveLength(DEFAULT_LEVELS.length);

		const root = await accountOf('root@jiss.example');
		const again = await bootstrap(db, {
			email: 'root@jiss.example',
			displayName: 'ignored',
			reason: 'The first link expired'
		});
		expect(again).toEqual({ kind: 'done', accountId: root.id, steps: ['link_sent'] });
		// Two are enrolling: a third is not made, however often the command runs.
		expect(
			await bootstrap(db, { email: 'third@jiss.example', displayName: 'Three', reason })
		).toEqual({ kind: 'refused', reason: 'enough_administrators' });
		// Only the newest link works.
		const links = await db
			.select()
			.from(enrolment)
			.where(and(eq(enrolment.accountId, root.id), isNull(enrolment.usedAt)));
		expect(links).toHaveLength(1);
		expect(outbox.at(-1)!.to).toBe('root@jiss.example');
	});

	it(`refuses once ${OPERATOR_ADMINISTRATORS} administrators are active, writing nothing`, async () => {
		await db
			.update(account)
			.set({ status: 'active', passwordHash: 'argon2-hash-set-at-enrolment' })
			.where(eq(account.status, 'pending'));
		const before = await headSeq();
		const accounts = (await db.select().from(account)).length;
		const mails = outbox.length;
		expect(
			await bootstrap(db, { email: 'third@jiss.example', displayName: 'Three', reason })
		).toEqual({ kind: 'refused', reason: 'enough_administrators' });
		expect(await headSeq()).toBe(before);
		expect(await db.select().from(account)).toHaveLength(accounts);
		expect(outbox).toHaveLength(mails);
	});

	it('brings back a locked-out administrator when one is left, with a reset link', async () => {
		await db
			.update(account)
			.set({
				status: 'disabled',
				disabledAt: new Date(),
				secondFactorFailures: SECOND_FACTOR_LOCKOUT
			})
			.where(eq(account.email, 'second@jiss.example'));
		const before = await headSeq();
		const result = await bootstrap(db, {
			email: 'second@jiss.example',
			displayName: 'Operator Two',
			reason: 'Locked out by wrong codes; identity checked in person'
		});
		expect(result).toMatchObject({ kind: 'done', steps: ['administrator_enabled', 'link_sent'] });
		// Without the password someone else knows: the reset link sets a new one.
		const second = await accountOf('second@jiss.example');
		expect(second).toMatchObject({
			status: 'pending',
			disabledAt: null,
			passwordHash: null,
			totpSecret: null,
			secondFactorFailures: 0
		});
		const [link] = await db
			.select()
			.from(enrolment)
			.where(and(eq(enrolment.accountId, second.id), isNull(enrolment.usedAt)));
		expect(link!.purpose).toBe('reset');
		const [enabled] = (await eventsAfter(before)).filter((e) => e.action === 'account.enabled');
		expect(enabled!.details).toMatchObject({
			by: 'operator',
			before: { status: 'disabled' },
			after: { status: 'pending' },
			lockedOut: true,
			credentialsCleared: true
		});
	});

	it('never widens an account: no role for another account, nothing for an active administrator', async () => {
		await db
			.update(account)
			.set({ status: 'disabled' })
			.where(eq(account.email, 'second@jiss.example'));
		const [home] = await db.select().from(organisation).where(eq(organisation.isHome, true));
		await db.insert(account).values({
			email: 'staff@jiss.example',
			displayName: 'Staff',
			organisationId: home!.id,
			roles: ['staff'],
			status: 'active'
		});
		const before = await headSeq();
		expect(
			await bootstrap(db, { email: 'STAFF@jiss.example', displayName: 'Staff', reason })
		).toEqual({ kind: 'refused', reason: 'not_an_administrator' });
		expect(
			await bootstrap(db, { email: 'root@jiss.example', displayName: 'Root', reason })
		).toEqual({ kind: 'refused', reason: 'already_active' });
		expect((await accountOf('staff@jiss.example')).roles).toEqual(['staff']);
		expect(await headSeq()).toBe(before);
	});

	it('refuses bad input before touching the database', async () => {
		const before = await headSeq();
		for (const input of [
			{ email: 'not an address', displayName: 'X', reason },
			{ email: 'x@jiss.example', displayName: '   ', reason },
			{ email: 'x@jiss.example', displayName: 'X', reason: '' },
			{ email: 'x\u0000@jiss.example', displayName: 'X', reason },
			{ email: 'x@jiss.example', displayName: 'X'.repeat(201), reason }
		]) {
			await expect(bootstrap(db, input)).rejects.toBeInstanceOf(ZodError);
		}
		expect(await headSeq()).toBe(before);
	});
});
