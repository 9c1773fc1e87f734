import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cookies, RequestEvent } from '@sveltejs/kit';
import { createVaultWorld, type Person, type VaultWorld } from '../../../../tests/helpers/vault';
import { requestEvent } from '../../../../tests/helpers/vault-events';
import { effectiveAccess } from '../access';
import * as sessions from '../auth/sessions';
import { authenticate } from '../http/authenticate';
import { account, grant, organisation } from '../db/schema';
import { expiredDuring } from './expired-grants';
import { dataGeneration } from './list-cache';
import { requireVaultUser } from './guard';
import { lookupSessionWithReader, readerForRequest, requestReaderFromSession } from './reader';

/**
 * `readerForRequest` folds into one statement what a vault request used to ask in five: the
 * access (as `effectiveAccess`), the home organisation, whether a grant ended during the session
 * and the data generation. It must answer exactly what the separate queries answer, in every
 * state a person's grants can be in.
 */
let world: VaultWorld;
let people: Person[];
const hourAgo = () => new Date(Date.now() - 3_600_000);

beforeAll(async () => {
	world = await createVaultWorld();
	people = [
		await world.person({ level: 0 }),
		await world.person({ level: 2, compartments: ['SDA'] }),
		await world.person({ level: 4, compartments: ['SDA', 'MD', 'PNT'] }),
		await world.person({ org: 'USA', roles: ['liaison'], level: 3, compartments: ['PNT'] }),
		await world.person({ org: 'AUS', roles: ['liaison'] })
	];
});
afterAll(async () => {
	await world?.close();
});

async function expectSameAsSeparateQueries(person: Person, sessionStart: Date | undefined) {
	const combined = await readerForRequest(world.db, person.user, sessionStart);
	const access = await effectiveAccess(world.db, person.id);
	const [home] = await world.db
		.select({ id: organisation.id })
		.from(organisation)
		.where(eq(organisation.isHome, true))
		.orderBy(organisation.id)
		.limit(1);
	expect(combined.reader).toEqual(
		access ? { access, roles: person.user.roles, homeOrgId: home!.id } : null
	);
	const ended = sessionStart
		? (await expiredDuring(world.db, person.id, sessionStart)).length > 0
		: false;
	expect(combined.grantsEnded).toBe(ended);
	expect(combined.generation).toBe(await dataGeneration(world.db));
	if (sessionStart) {
		// Read with the session instead, as every request's authenticate does: the same answer.
		const { token } = await sessions.create(world.db, {
			accountId: person.id,
			mfaVerified: true,
			now: sessionStart,
			lifetimes
		});
		const valid = await sessions.validate(world.db, token, {
			lookup: lookupSessionWithReader,
			lifetimes
		});
		if (combined.reader === null) {
			expect(valid).toBeNull();
		} else {
			expect(Object.keys(valid!.extra)).toEqual(['reader']);
			expect(requestReaderFromSession(valid!.user, valid!.extra)).toEqual(combined);
		}
	}
	return combined;
}

const lifetimes = { idleMinutes: 600, absoluteHours: 12 };

describe('readerForRequest', () => {
	it('answers what effectiveAccess, the home organisation and the generation answer', async () => {
		for (const person of people) {
			const found = await expectSameAsSeparateQueries(person, hourAgo());
			expect(found.reader).not.toBeNull();
			expect(found.grantsEnded).toBe(false);
		}
		const cleared = await expectSameAsSeparateQueries(people[2]!, undefined);
		expect(cleared.reader!.access.level).toBe(4);
		expect(cleared.reader!.access.compartmentIds).toEqual(
			[world.comp.SDA, world.comp.MD, world.comp.PNT].sort((a, b) => a - b)
		);
		expect(cleared.reader!.homeOrgId).toBe(world.org.JISS);
	});

	it('drops a revoked, a future and an ended grant, and reports the one that ended in session', async () => {
		const person = await world.person({ level: 3, compartments: ['SDA', 'MD'] });
		const grants = await world.db.select().from(grant).where(eq(grant.accountId, person.id));
		const level = grants.find((g) => g.kind === 'level')!;
		const sda = grants.find((g) => g.compartmentId === world.comp.SDA)!;
		const md = grants.find((g) => g.compartmentId === world.comp.MD)!;

		await world.db
			.update(grant)
			.set({ revokedAt: sql`now()` })
			.where(eq(grant.id, sda.id));
		await world.db
			.update(grant)
			.set({ validFrom: sql`now() + interval '1 day'` })
			.where(eq(grant.id, md.id));
		let found = await expectSameAsSeparateQueries(person, hourAgo());
		expect(found.reader!.access.compartmentIds).toEqual([]);
		expect(found.reader!.access.level).toBe(3);
		expect(found.grantsEnded).toBe(false);

		// The level grant ended ten minutes ago: after a session that began an hour ago, it ended
		// in use; for a session begun five minutes ago it had already ended before sign-in.
		await world.db
			.update(grant)
			.set({
				validFrom: sql`now() - interval '1 day'`,
				validUntil: sql`now() - interval '10 minutes'`
			})
			.where(eq(grant.id, level.id));
		found = await expectSameAsSeparateQueries(person, hourAgo());
		expect(found.reader!.access.level).toBe(0);
		expect(found.grantsEnded).toBe(true);
		found = await expectSameAsSeparateQueries(person, new Date(Date.now() - 5 * 60_000));
		expect(found.grantsEnded).toBe(false);
	});

	it('has no reader for an account that is no longer active', async () => {
		const person = await world.person({ level: 2 });
		await world.db.update(account).set({ status: 'disabled' }).where(eq(account.id, person.id));
		const found = await expectSameAsSeparateQueries(person, hourAgo());
		expect(found.reader).toBeNull();
		await world.db
			.delete(grant)
			.where(and(eq(grant.accountId, person.id), eq(grant.kind, 'level')));
		expect((await readerForRequest(world.db, person.user, hourAgo())).reader).toBeNull();
	});

	it('reads the generation a document change raises', async () => {
		const before = (await readerForRequest(world.db, people[1]!.user, undefined)).generation;
		expect(before).not.toBeNull();
		await world.db.execute(sql`update document set title = title where false`);
		const after = (await readerForRequest(world.db, people[1]!.user, undefined)).generation;
		expect(after).toBe(before! + 1);
	});

	it('is read with the session by authenticate and taken once by the vault guard', async () => {
		const person = people[1]!;
		// Begun two minutes ago: within the configured idle lifetime that authenticate applies.
		const { token } = await sessions.create(world.db, {
			accountId: person.id,
			mfaVerified: true,
			now: new Date(Date.now() - 2 * 60_000)
		});
		const event = requestEvent({ user: null, path: '/documents' });
		event.cookies = { get: (name: string) => (name === 'session' ? token : undefined) } as Cookies;
		await authenticate({ event, resolve: async () => new Response('ok') });
		expect(event.locals.user?.id).toBe(person.id);
		const expected = await readerForRequest(world.db, person.user, event.locals.session!.createdAt);
		const read = event.locals.vaultReader!;
		expect(read.accountId).toBe(person.id);
		expect(requestReaderFromSession(person.user, read)).toEqual(expected);

		// The guard uses what was read with the session (marked here), once.
		event.locals.vaultReader = { ...read, reader: { ...read.reader, generation: -42 } };
		expect((await requireVaultUser(event as RequestEvent)).generation).toBe(-42);
		expect(event.locals.vaultReader).toBeUndefined();
		expect((await requireVaultUser(event as RequestEvent)).generation).toBe(expected.generation);
		// Columns read for someone else are never used.
		event.locals.vaultReader = {
			accountId: people[2]!.id,
			reader: { ...read.reader, level: 4, generation: -7 }
		};
		const vault = await requireVaultUser(event as RequestEvent);
		expect(vault.generation).toBe(expected.generation);
		expect(vault.reader.access.accountId).toBe(person.id);
	});

	it('lets a request outside the vault through when the vault cannot make an access', async () => {
		// Without a home organisation no vault access can be made: the vault guard fails, as it
		// always did, but authenticate does not, so administrators can still reach their pages.
		const person = people[1]!;
		const { token } = await sessions.create(world.db, { accountId: person.id, mfaVerified: true });
		const event = requestEvent({ user: null, path: '/admin/reference' });
		event.cookies = { get: (name: string) => (name === 'session' ? token : undefined) } as Cookies;
		const [home] = await world.db
			.update(organisation)
			.set({ isHome: false })
			.where(eq(organisation.isHome, true))
			.returning({ id: organisation.id });
		try {
			await authenticate({ event, resolve: async () => new Response('ok') });
			expect(event.locals.user?.id).toBe(person.id);
			await expect(requireVaultUser(event as RequestEvent)).rejects.toThrow(
				'No home organisation is configured'
			);
		} finally {
			await world.db
				.update(organisation)
				.set({ isHome: true })
				.where(eq(organisation.id, home!.id));
		}
	});
});
