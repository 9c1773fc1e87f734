import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVaultWorld, type Person, type VaultWorld } from '../../../../tests/helpers/vault';
import { effectiveAccess } from '../access';
import { account, grant, organisation } from '../db/schema';
import { expiredDuring } from './expired-grants';
import { dataGeneration } from './list-cache';
import { readerForRequest } from './reader';

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
	return combined;
}

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
});
