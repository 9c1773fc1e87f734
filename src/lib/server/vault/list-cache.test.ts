import type { RequestEvent } from '@sveltejs/kit';
import { and, eq, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onServer } from '../../../../tests/helpers/database';
import { createVaultWorld, type Person, type VaultWorld } from '../../../../tests/helpers/vault';
import { outcome, requestEvent } from '../../../../tests/helpers/vault-events';
import * as listRoute from '../../../routes/(app)/documents/+page.server';
import { canRead } from '../access';
import type { Database } from '../db';
import * as schema from '../db/schema';
import { document, grant } from '../db/schema';
import * as documents from './documents';
import { documentsPanel } from './guard';
import { BoundedCache, dataGeneration, listCache } from './list-cache';
import * as write from './write';

/**
 * The list's cache of counts, facets and pages: what it serves equals what the database says
 * now, for every reader, after any change by anyone, and it stays bounded.
 */
describe('BoundedCache', () => {
	it('keeps at most maxEntries, dropping the least recently used', () => {
		const cache = new BoundedCache<number>(3, 1000, () => 0);
		cache.set('a', 1);
		cache.set('b', 2);
		cache.set('c', 3);
		expect(cache.get('a')).toBe(1); // a is now the most recent
		cache.set('d', 4);
		expect(cache.size).toBe(3);
		expect(cache.get('b')).toBeUndefined();
		expect([cache.get('a'), cache.get('c'), cache.get('d')]).toEqual([1, 3, 4]);
	});

	it('forgets entries after their time to live', () => {
		let now = 0;
		const cache = new BoundedCache<string>(10, 100, () => now);
		cache.set('k', 'v');
		now = 99;
		expect(cache.get('k')).toBe('v');
		now = 100;
		expect(cache.get('k')).toBeUndefined();
		expect(cache.size).toBe(0);
	});

	it('stores nothing with a limit of zero', () => {
		const cache = new BoundedCache<number>(0, 1000);
		cache.set('k', 1);
		expect(cache.size).toBe(0);
		expect(cache.get('k')).toBeUndefined();
	});
});

let world: VaultWorld;
let staff: Person; // SECRET, SDA
let twin: Person; // the same grants as staff, another account
let analyst: Person; // RESTRICTED
let colleague: Person; // TOP SECRET, all compartments
let liaison: Person; // USA, SECRET, SDA
const ctx = { ip: '127.0.0.1', userAgent: 'test', requestId: 'test' };

const memo = (over: Partial<write.NewMemo>): write.NewMemo => ({
	title: 'Memo',
	summary: '',
	body: 'body text',
	tags: [],
	levelRank: 1,
	compartmentIds: [],
	releaseOrgIds: [world.org.JISS],
	publish: true,
	...over
});

beforeAll(async () => {
	world = await createVaultWorld();
	staff = await world.person({ name: 'Staff', level: 3, compartments: ['SDA'] });
	twin = await world.person({ name: 'Twin', level: 3, compartments: ['SDA'] });
	analyst = await world.person({ name: 'Analyst', level: 1 });
	colleague = await world.person({
		name: 'Colleague',
		level: 4,
		compartments: ['SDA', 'MD', 'PNT']
	});
	liaison = await world.person({
		name: 'Liaison',
		org: 'USA',
		roles: ['liaison'],
		level: 3,
		compartments: ['SDA']
	});
	const { JISS: J, USA: U } = world.org;
	const { SDA, MD, PNT } = world.comp;
	const specs: Partial<write.NewMemo>[] = [];
	for (let i = 0; i < 40; i++) {
		specs.push({
			title: `${['衛星', 'orbit', '暗号', 'policy'][i % 4]} memo ${i}`,
			summary: i % 3 === 0 ? '宇宙の安全保障' : 'plain',
			levelRank: i % 5,
			compartmentIds: [[], [SDA], [MD], [SDA, PNT]][i % 4]!,
			releaseOrgIds: i % 2 === 0 ? [J, U] : [J],
			tags: [['sda'], ['policy', 'cyber'], [], ['sda', 'norms']][i % 4]!,
			publish: i % 7 !== 0
		});
	}
	for (const spec of specs) await write.createMemo(colleague.writer, ctx, memo(spec));
	// Drafts of staff's own: only staff (not twin, with the same grants) counts them.
	await write.createMemo(staff.writer, ctx, memo({ title: 'Staff draft', publish: false }));
	await write.createMemo(staff.writer, ctx, memo({ title: 'Staff draft orbit', publish: false }));
});

afterAll(async () => {
	await world?.close();
});

interface ListData {
	total: number;
	items: { id: number; title: string }[];
	nextCursor: string | null;
	facets: Record<string, { value: string; count?: number }[]>;
}

async function listAs(person: Person, query = ''): Promise<ListData> {
	const result = await outcome(
		requestEvent({ user: person.user, path: `/documents${query}` }),
		listRoute.load as unknown as (event: RequestEvent) => Promise<ListData>
	);
	if (result.kind !== 'ok') throw new Error(`list answered ${result.kind}`);
	return result.value;
}

/** The reader's access now (grants may have changed since the test began). */
async function accessOf(person: Person) {
	const { readerOf } = await import('./reader');
	return (await readerOf(world.db, person.user))!.access;
}

/** What a list must show, from every row of the table filtered in JavaScript by `canRead`. */
async function expected(
	person: Person,
	keep: (d: typeof document.$inferSelect) => boolean = () => true
) {
	const access = await accessOf(person);
	const rows = (await world.db.select().from(document)).filter(
		(d) => canRead(access, d) && keep(d)
	);
	const tally = <K>(keys: K[]) => {
		const map = new Map<K, number>();
		for (const k of keys) map.set(k, (map.get(k) ?? 0) + 1);
		return map;
	};
	return {
		total: rows.length,
		levels: tally(rows.map((d) => String(d.levelRank))),
		statuses: tally(rows.map((d) => d.status as string)),
		tags: tally(rows.flatMap((d) => d.tags))
	};
}

function counts(options: { value: string; count?: number }[]) {
	return new Map(options.map((o) => [o.value, o.count ?? 0]));
}

async function expectFresh(
	person: Person,
	query = '',
	keep?: (d: typeof document.$inferSelect) => boolean
) {
	const data = await listAs(person, query);
	const want = await expected(person, keep);
	expect(data.total).toBe(want.total);
	expect(counts(data.facets.levels!)).toEqual(want.levels);
	expect(counts(data.facets.statuses!)).toEqual(want.statuses);
	expect(counts(data.facets.tags!)).toEqual(want.tags);
	return data;
}

describe('the list cache', () => {
	it('keys a codeword the reader is not read into as any unknown code (no timing oracle)', async () => {
		listCache.clear();
		// Staff hold SDA only: MD and PNT exist, NOPE and QQQ do not. All four filter to nothing
		// readable, and all four must find the same cache entries, so that a first request for
		// an existing codeword costs no more than one for a made-up code.
		// The page's answer but for the query it echoes.
		const nothing = { ...(await listAs(staff, '?compartment=NOPE')), query: undefined };
		const size = listCache.size;
		for (const code of ['MD', 'QQQ', 'PNT']) {
			const { query: _query, ...answer } = (await listAs(
				staff,
				`?compartment=${code}`
			)) as ListData & { query: unknown };
			expect(answer).toEqual({ ...nothing, query: undefined });
			expect(listCache.size, code).toBe(size);
		}
		expect(nothing.total).toBe(0);
		// A codeword held is its own filter.
		await listAs(staff, '?compartment=SDA');
		expect(listCache.size).toBeGreaterThan(size);
	});

	it('serves the same counts, facets and pages as a fresh computation', async () => {
		listCache.clear();
		for (const query of ['', '?level=1&level=2', '?compartment=SDA', '?q=orbit', '?tag=sda']) {
			const first = await listAs(staff, query);
			const sizeAfterFirst = listCache.size;
			const second = await listAs(staff, query);
			expect(listCache.size).toBe(sizeAfterFirst); // the second request was served from it
			expect(second).toEqual(first);
			const access = await accessOf(staff);
			// Fresh figures straight from SQL, bypassing the cache.
			const filters = query.includes('q=orbit')
				? { q: 'orbit' }
				: query.includes('tag=sda')
					? { tag: 'sda' }
					: query.includes('compartment')
						? { compartmentId: world.comp.SDA }
						: query.includes('level')
							? { levels: [1, 2] }
							: {};
			const fresh = await documents.facets(world.db, access, filters);
			expect(second.total).toBe(fresh.total);
			const page = await documents.list(world.db, access, filters);
			expect(second.items.map((i) => i.id)).toEqual(page.items.map((i) => i.id));
		}
		await expectFresh(staff);
		await expectFresh(staff, '?q=orbit', (d) => d.title.toLowerCase().includes('orbit'));
	});

	it('pages through the same documents from the cache as without it', async () => {
		const walk = async () => {
			const ids: number[] = [];
			let query = '?q=memo';
			for (let i = 0; i < 10; i++) {
				const data = await listAs(colleague, query);
				ids.push(...data.items.map((item) => item.id));
				if (!data.nextCursor) break;
				query = `?q=memo&cursor=${data.nextCursor}`;
			}
			return ids;
		};
		listCache.clear();
		const cold = await walk();
		const warm = await walk();
		expect(warm).toEqual(cold);
		expect(new Set(cold).size).toBe(cold.length);
		const want = await expected(colleague, (d) => d.title.includes('memo'));
		expect(cold.length).toBe(want.total);
	});

	it('shows a change by anyone on the very next request: create, edit, archive, reclassify', async () => {
		await expectFresh(staff);
		await expectFresh(analyst);
		const before = await dataGeneration(world.db);

		// Created by someone else.
		const created = await write.createMemo(
			colleague.writer,
			ctx,
			memo({ title: 'Fresh orbit memo', levelRank: 1, tags: ['fresh'] })
		);
		expect(await dataGeneration(world.db)).not.toBe(before);
		let data = await expectFresh(staff);
		expect(counts(data.facets.tags!).get('fresh')).toBe(1);
		await expectFresh(analyst);
		await expectFresh(staff, '?q=orbit', (d) => d.title.toLowerCase().includes('orbit'));

		// Edited: the title no longer holds the word searched for.
		await write.editMemo(colleague.writer, ctx, created.id, {
			title: 'Fresh memo',
			summary: '',
			body: 'body text',
			tags: ['fresh', 'edited']
		});
		await expectFresh(staff, '?q=orbit', (d) => d.title.toLowerCase().includes('orbit'));
		data = await expectFresh(staff, '?tag=edited', (d) => d.tags.includes('edited'));
		expect(data.total).toBe(1);

		// Archived.
		await write.archive(colleague.writer, ctx, created.id);
		data = await expectFresh(staff);
		expect(counts(data.facets.statuses!).get('archived')).toBeGreaterThanOrEqual(1);

		// Reclassified above staff: gone from their figures, still in the colleague's.
		const totalBefore = (await listAs(staff)).total;
		await write.reclassify(colleague.writer, ctx, created.id, {
			levelRank: 4,
			compartmentIds: [],
			releaseOrgIds: [world.org.JISS],
			reason: 'test'
		});
		data = await expectFresh(staff);
		expect(data.total).toBe(totalBefore - 1);
		await expectFresh(colleague);
	});

	it('shows a change made outside this process (another instance) on the next request', async () => {
		const before = await listAs(staff);
		// A plain SQL statement, as another instance's transaction would commit it.
		await world.db
			.update(document)
			.set({ levelRank: 4 })
			.where(
				and(
					eq(document.levelRank, 1),
					eq(document.authorId, colleague.id),
					sql`${document.compartmentIds} = '{}'`
				)
			);
		const after = await expectFresh(staff);
		expect(after.total).toBeLessThan(before.total);
	});

	it('never lets two readers see each other’s figures', async () => {
		listCache.clear();
		for (let round = 0; round < 2; round++) {
			for (const person of [staff, twin, analyst, colleague, liaison]) {
				await expectFresh(person);
				await expectFresh(person, '?q=orbit', (d) => d.title.toLowerCase().includes('orbit'));
			}
		}
		// Same grants, different accounts: staff's own drafts count for staff only.
		const mine = await listAs(staff, '?q=orbit');
		const theirs = await listAs(twin, '?q=orbit');
		expect(mine.total).toBe(theirs.total + 1);
		expect(mine.items.map((i) => i.title)).toContain('Staff draft orbit');
		expect(theirs.items.map((i) => i.title)).not.toContain('Staff draft orbit');
	});

	it('applies a revoked or new grant on the very next request', async () => {
		const person = await world.person({ level: 3, compartments: ['SDA'] });
		const withSda = await expectFresh(person);
		await expectFresh(person, '?compartment=SDA', (d) => d.compartmentIds.includes(world.comp.SDA));
		await world.db
			.update(grant)
			.set({ revokedAt: new Date() })
			.where(and(eq(grant.accountId, person.id), eq(grant.kind, 'compartment')));
		const withoutSda = await expectFresh(person);
		expect(withoutSda.total).toBeLessThan(withSda.total);
		const filtered = await expectFresh(person, '?compartment=SDA', (d) =>
			d.compartmentIds.includes(world.comp.SDA)
		);
		expect(filtered.total).toBe(0);
		await world.db.insert(grant).values({
			accountId: person.id,
			kind: 'compartment',
			compartmentId: world.comp.SDA,
			reason: 'read in again'
		});
		const again = await expectFresh(person);
		expect(again.total).toBe(withSda.total);
	});

	it('keeps the home panel counts fresh', async () => {
		const panel = async () => {
			const found = await outcome(
				requestEvent({ user: staff.user, path: '/' }),
				documentsPanel as unknown as (e: RequestEvent) => Promise<{ total: number; drafts: number }>
			);
			if (found.kind !== 'ok') throw new Error('no panel');
			return found.value;
		};
		const first = await panel();
		expect(await panel()).toEqual(first);
		expect(first.total).toBe((await expected(staff)).total);
		expect(first.drafts).toBe(2);
		await write.createMemo(staff.writer, ctx, memo({ title: 'Another draft', publish: false }));
		const next = await panel();
		expect(next.total).toBe(first.total + 1);
		expect(next.drafts).toBe(3);
	});

	it('re-reads a cached page with the access predicate, refusing rows that no longer match', async () => {
		const access = await accessOf(analyst);
		const readable = await documents.list(world.db, access, {});
		const ids = readable.items.map((i) => i.id);
		expect(await documents.listItemsByIds(world.db, access, {}, ids)).toHaveLength(ids.length);
		const [secret] = await world.db
			.select({ id: document.id })
			.from(document)
			.where(eq(document.levelRank, 4))
			.limit(1);
		expect(await documents.listItemsByIds(world.db, access, {}, [...ids, secret!.id])).toBeNull();
	});

	it('re-reads exactly what list returned, in the order given, for every reader and filter', async () => {
		for (const person of [staff, twin, analyst, colleague, liaison]) {
			const access = await accessOf(person);
			for (const filters of [
				{},
				{ q: 'orbit' },
				{ q: '宇宙' },
				{ q: 'memo 1', tag: 'sda' },
				{ levels: [0, 1], status: 'published' as const },
				// The same WHERE clause as the filters above: it runs the statement built for them.
				{ levels: [1, 0], status: 'published' as const },
				{ authorId: access.accountId }
			]) {
				const page = await documents.list(world.db, access, filters);
				const ids = page.items.map((i) => i.id);
				// Twice: the second run uses the statement built by the first.
				for (let run = 0; run < 2; run++) {
					expect(await documents.listItemsByIds(world.db, access, filters, ids)).toEqual(
						page.items
					);
				}
				const reversed = [...page.items].reverse();
				expect(
					await documents.listItemsByIds(
						world.db,
						access,
						filters,
						reversed.map((i) => i.id)
					)
				).toEqual(reversed);
			}
		}
	});

	it('ranks and counts a new search in one read exactly as list and facets do', async () => {
		for (const person of [staff, twin, analyst, colleague, liaison]) {
			const access = await accessOf(person);
			for (const filters of [
				{ q: 'orbit' },
				{ q: 'memo' },
				{ q: '宇宙' },
				{ q: '暗' },
				{ q: 'memo 1', tag: 'sda' },
				{ q: 'nothing-matches' }
			]) {
				for (const limit of [3, 25]) {
					const combined = await documents.searchFirstPage(world.db, access, filters, limit);
					const page = await documents.list(world.db, access, filters, { limit });
					expect(combined.page).toEqual(page);
					expect(combined.facets).toEqual(await documents.facets(world.db, access, filters));
				}
			}
		}
	});

	it('stays bounded', async () => {
		const max = listCache.maxEntries;
		try {
			listCache.maxEntries = 5;
			listCache.clear();
			for (let day = 1; day <= 12; day++) {
				await listAs(staff, `?from=2020-01-${String(day).padStart(2, '0')}`);
				expect(listCache.size).toBeLessThanOrEqual(5);
			}
			expect(listCache.size).toBe(5);
		} finally {
			listCache.maxEntries = max;
		}
	});
});

describe.skipIf(!onServer)('the re-read of a cached page on the PostgreSQL server', () => {
	it('reads the page by primary key and nothing else, even under a generic plan', async () => {
		// One connection that always uses the generic plan (which cannot see the reader's access)
		// and hands every plan it runs to the client (auto_explain at LOG level).
		const plans: string[] = [];
		let reads = 0;
		const client = postgres(world.database.url!, {
			max: 1,
			onnotice: (notice) => plans.push(String(notice.message)),
			connection: { plan_cache_mode: 'force_generic_plan', client_min_messages: 'log' }
		});
		try {
			await client.unsafe(`load 'auto_explain'`);
			await client.unsafe('set auto_explain.log_min_duration = 0');
			const db = drizzle(client, { schema }) as unknown as Database;
			for (const person of [staff, analyst, liaison]) {
				const access = await accessOf(person);
				for (const filters of [{}, { q: 'orbit' }, { q: '宇宙' }, { levels: [0, 1] }]) {
					const page = await documents.list(world.db, access, filters);
					const ids = page.items.map((i) => i.id);
					for (let run = 0; run < 3 && ids.length > 0; run++) {
						expect(await documents.listItemsByIds(db, access, filters, ids)).toEqual(page.items);
						reads++;
					}
				}
			}
		} finally {
			await client.end();
		}
		const rereads = plans.filter((p) => p.includes('with ordinality'));
		expect(reads).toBeGreaterThan(20);
		expect(rereads).toHaveLength(reads);
		for (const plan of rereads) {
			const documentScans = plan.split('\n').filter((line) => / on document\b/.test(line));
			expect(documentScans.length, plan).toBeGreaterThan(0);
			for (const line of documentScans) {
				expect(line, plan).toMatch(/Index Scan using document_pkey on document\b/);
			}
			expect(plan).toMatch(/Index Cond: \(id = page\.id\)/);
		}
	});
});
