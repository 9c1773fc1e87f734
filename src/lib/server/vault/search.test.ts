import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVaultWorld, type Person, type VaultWorld } from '../../../../tests/helpers/vault';
import { seedCorpus, type CorpusDocument } from '../../../../tests/helpers/vault-corpus';
import { canRead, type Access } from '../access';
import { queryRows } from '../db';
import * as documents from './documents';
import { normaliseForSearch, queryTerms } from './search-text';

/**
 * Lists, search, counts and facets on 10,000 documents, compared for several readers with
 * `canRead` applied to every row in JavaScript (which the code under test never does).
 */
let world: VaultWorld;
let corpus: CorpusDocument[];
let readers: Record<string, Person>;

beforeAll(async () => {
	world = await createVaultWorld();
	readers = {
		fellow: await world.person({ level: 4, compartments: ['SDA', 'MD', 'PNT'] }),
		researcher: await world.person({ level: 2, compartments: ['SDA'] }),
		analyst: await world.person({ level: 1 }),
		newcomer: await world.person({ level: 0 }),
		usLiaison: await world.person({
			org: 'USA',
			roles: ['liaison'],
			level: 3,
			compartments: ['SDA']
		}),
		auLiaison: await world.person({
			org: 'AUS',
			roles: ['liaison'],
			level: 2,
			compartments: ['PNT']
		})
	};
	corpus = await seedCorpus(world.db, {
		count: 10_000,
		orgIds: [world.org.JISS, world.org.USA, world.org.AUS],
		compartmentIds: [world.comp.SDA, world.comp.MD, world.comp.PNT],
		authorIds: Object.values(readers).map((r) => r.id)
	});
	await world.db.execute(sql`analyze document`);
}, 600_000);

afterAll(async () => {
	await world?.close();
});

const access = (name: string): Access => readers[name]!.writer.access;

function matches(doc: CorpusDocument, q: string): boolean {
	return queryTerms(q).every((term) => doc.searchText.includes(term));
}

function scoreOf(doc: CorpusDocument, q: string): number {
	const title = normaliseForSearch(doc.title);
	const summary = normaliseForSearch(doc.summary);
	return queryTerms(q).reduce(
		(sum, t) => sum + (title.includes(t) ? 4 : 0) + (summary.includes(t) ? 2 : 0) + 1,
		0
	);
}

function expected(name: string, filters: documents.DocumentFilters): CorpusDocument[] {
	const a = access(name);
	const q = filters.q ?? '';
	const rows = corpus.filter(
		(d) =>
			canRead(a, d) &&
			matches(d, q) &&
			(!filters.levels || filters.levels.includes(d.levelRank)) &&
			(filters.compartmentId === undefined || d.compartmentIds.includes(filters.compartmentId)) &&
			(filters.kind === undefined || d.kind === filters.kind) &&
			(filters.tag === undefined || d.tags.includes(filters.tag)) &&
			(filters.status === undefined || d.status === filters.status) &&
			(filters.originatorOrgId === undefined || d.originatorOrgId === filters.originatorOrgId)
	);
	return rows.sort(
		(x, y) =>
			(q ? scoreOf(y, q) - scoreOf(x, q) : 0) ||
			y.updatedAt.getTime() - x.updatedAt.getTime() ||
			y.id - x.id
	);
}

async function walk(name: string, filters: documents.DocumentFilters, limit = 100) {
	const ids: number[] = [];
	let cursor: string | null = null;
	for (let pages = 0; pages < 200; pages++) {
		const page: documents.ListPage = await documents.list(world.db, access(name), filters, {
			cursor,
			limit
		});
		ids.push(...page.items.map((i) => i.id));
		cursor = page.nextCursor;
		if (!cursor) break;
	}
	return ids;
}

const QUERIES = [
	'宇', // one character
	'暗号', // two characters: trigram indexes miss these
	'ミサイル',
	'安全保障', // four characters
	'量子鍵',
	'ORBIT', // upper case
	'ｓａｔｅｌｌｉｔｅ', // full-width Latin (NFKC)
	'space 暗号',
	'quasar'
];

describe('search over 10,000 documents', () => {
	it('has a corpus where access actually varies', () => {
		expect(corpus.length).toBe(10_000);
		const counts = Object.keys(readers).map(
			(n) => corpus.filter((d) => canRead(access(n), d)).length
		);
		expect(new Set(counts).size).toBe(counts.length);
		expect(Math.min(...counts)).toBeGreaterThan(0);
	});

	for (const q of QUERIES) {
		it(`finds exactly the readable matches of "${q}", in rank order, for every reader`, async () => {
			const sizes: number[] = [];
			for (const name of Object.keys(readers)) {
				const want = expected(name, { q }).map((d) => d.id);
				expect(await walk(name, { q })).toEqual(want);
				expect(await documents.count(world.db, access(name), { q })).toBe(want.length);
				sizes.push(want.length);
			}
			// The query matches something, and not the same for everyone.
			expect(Math.max(...sizes)).toBeGreaterThan(0);
			expect(new Set(sizes).size).toBeGreaterThan(1);
		});
	}

	it('finds nothing, and counts nothing, when every match is above the reader', async () => {
		// Top-secret-only words: give a few TOP SECRET documents a unique word.
		const secret = corpus.filter((d) => d.levelRank === 4 && d.status === 'published').slice(0, 3);
		for (const d of secret) {
			await world.db.execute(
				sql`update document set search_text = search_text || ' 極秘語彙xyz' where id = ${d.id}`
			);
		}
		const q = '極秘語彙xyz';
		expect(await documents.count(world.db, access('fellow'), { q })).toBeGreaterThan(0);
		for (const name of ['researcher', 'analyst', 'usLiaison', 'auLiaison']) {
			expect(await documents.count(world.db, access(name), { q })).toBe(0);
			expect((await documents.list(world.db, access(name), { q })).items).toEqual([]);
			const f = await documents.facets(world.db, access(name), { q });
			expect(f.levels).toEqual([]);
			expect(f.tags).toEqual([]);
			expect(await documents.suggest(world.db, access(name), q)).toEqual([]);
		}
		for (const d of secret) {
			await world.db.execute(
				sql`update document set search_text = replace(search_text, ' 極秘語彙xyz', '') where id = ${d.id}`
			);
		}
	});

	it('uses the token index for a search', async () => {
		const where = documents.filterSql(access('fellow'), { q: '量子鍵' });
		const plan = await queryRows<Record<string, unknown>>(
			world.db,
			sql`explain select id from document where ${where}`
		);
		const text = plan.map((r) => Object.values(r).join(' ')).join('\n');
		expect(text).toContain('document_search_tokens_gin');
	});
});

describe('lists, filters, counts and facets over 10,000 documents', () => {
	const FILTERS: [string, (w: VaultWorld) => documents.DocumentFilters][] = [
		['no filter', () => ({})],
		['level', () => ({ levels: [1, 2] })],
		['compartment', (w) => ({ compartmentId: w.comp.SDA })],
		['originator', (w) => ({ originatorOrgId: w.org.USA })],
		['kind', () => ({ kind: 'file' })],
		['tag', () => ({ tag: 'policy' })],
		['status', () => ({ status: 'archived' })],
		['text and filters', (w) => ({ q: '衛星', kind: 'memo', compartmentId: w.comp.SDA })]
	];

	for (const [label, make] of FILTERS) {
		it(`pages through exactly the readable documents (${label})`, async () => {
			for (const name of Object.keys(readers)) {
				const filters = make(world);
				const want = expected(name, filters);
				const got = await walk(name, filters, 100);
				expect(got).toEqual(want.map((d) => d.id));
				expect(await documents.count(world.db, access(name), filters)).toBe(want.length);
			}
		});
	}

	it('counts facets from readable documents only', async () => {
		for (const name of Object.keys(readers)) {
			const want = expected(name, {});
			const f = await documents.facets(world.db, access(name), {});
			expect(f.total).toBe(want.length);
			const tally = <K>(keys: K[]) => {
				const m = new Map<K, number>();
				for (const k of keys) m.set(k, (m.get(k) ?? 0) + 1);
				return m;
			};
			expect(new Map(f.levels.map((l) => [l.rank, l.count]))).toEqual(
				tally(want.map((d) => d.levelRank))
			);
			expect(new Map(f.compartments.map((c) => [c.id, c.count]))).toEqual(
				tally(want.flatMap((d) => d.compartmentIds))
			);
			expect(new Map(f.originators.map((o) => [o.id, o.count]))).toEqual(
				tally(want.map((d) => d.originatorOrgId))
			);
			expect(new Map(f.kinds.map((k) => [k.kind, k.count]))).toEqual(
				tally(want.map((d) => d.kind))
			);
			expect(new Map(f.statuses.map((s) => [s.status, s.count]))).toEqual(
				tally(want.map((d) => d.status))
			);
			expect(new Map(f.tags.map((t) => [t.tag, t.count]))).toEqual(
				tally(want.flatMap((d) => d.tags))
			);
		}
	});

	it('filters by date in the reader time zone', async () => {
		// 2026-01-02 in Tokyo is 2026-01-01T15:00Z to 2026-01-02T15:00Z.
		const filters = { updatedFrom: '2026-01-02', updatedTo: '2026-01-02', timeZone: 'Asia/Tokyo' };
		const from = Date.UTC(2026, 0, 1, 15);
		const to = Date.UTC(2026, 0, 2, 15);
		const a = access('fellow');
		const want = corpus.filter(
			(d) => canRead(a, d) && d.updatedAt.getTime() >= from && d.updatedAt.getTime() < to
		);
		expect(want.length).toBeGreaterThan(0);
		expect(await documents.count(world.db, a, filters)).toBe(want.length);
	});

	it('ignores a forged cursor instead of failing', async () => {
		const page = await documents.list(world.db, access('analyst'), {}, { cursor: 'not-a-cursor' });
		expect(page.items.map((i) => i.id)).toEqual(
			expected('analyst', {})
				.slice(0, documents.PAGE_SIZE)
				.map((d) => d.id)
		);
	});

	it('suggests only readable titles', async () => {
		for (const name of Object.keys(readers)) {
			const got = await documents.suggest(world.db, access(name), 'note 12', 20);
			const a = access(name);
			const allowed = new Set(corpus.filter((d) => canRead(a, d)).map((d) => d.id));
			for (const s of got) {
				expect(allowed.has(s.id)).toBe(true);
				expect(s.title.toLowerCase()).toContain('note 12');
			}
			const want = corpus.filter((d) => allowed.has(d.id) && d.title.includes('note 12'));
			expect(got.length).toBe(Math.min(20, want.length));
		}
	});
});
