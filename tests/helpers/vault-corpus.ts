import type { Database } from '../../src/lib/server/db';
import {
	compartment,
	document,
	level,
	organisation,
	type DocumentKind,
	type DocumentStatus
} from '../../src/lib/server/db/schema';
import { DEFAULT_LEVELS } from '../../src/lib/server/seed/demo-data';
import { searchTextOf } from '../../src/lib/server/vault/search-text';

/**
 * The reference data tests and benchmarks share: the default levels, three organisations (JISS
 * at home, USA, AUS) and three compartments (SDA, MD sensitive, PNT).
 */
export async function seedReferences(db: Database) {
	const orgs = await db
		.insert(organisation)
		.values([
			{ code: 'JISS', nameEn: 'JISS', nameJa: '日本宇宙安全保障研究所', isHome: true },
			{ code: 'USA', nameEn: 'USA', nameJa: '米国' },
			{ code: 'AUS', nameEn: 'AUS', nameJa: '豪州' }
		])
		.returning();
	await db.insert(level).values([...DEFAULT_LEVELS]);
	const comps = await db
		.insert(compartment)
		.values([
			{ code: 'SDA', nameEn: 'Space Domain Awareness', nameJa: '宇宙領域把握' },
			{ code: 'MD', nameEn: 'Missile Defence', nameJa: 'ミサイル防衛', sensitive: true },
			{ code: 'PNT', nameEn: 'PNT', nameJa: '測位・航法・時刻' }
		])
		.returning();
	return { orgs, comps };
}

/**
 * A large, deterministic set of documents for search and list tests and the benchmark: mixed
 * Japanese and English text, every level, compartment mix, releasability, status and kind.
 */
const WORDS_JA = [
	'宇宙',
	'安全保障',
	'暗号',
	'衛星',
	'防衛',
	'探知',
	'ミサイル',
	'測位',
	'軌道',
	'同盟',
	'情報',
	'共有',
	'抗たん性',
	'地上局',
	'電磁波',
	'政策',
	'産業',
	'規範'
];
const WORDS_EN = [
	'space',
	'security',
	'orbit',
	'satellite',
	'sensor',
	'alliance',
	'deterrence',
	'launch',
	'debris',
	'resilience',
	'policy',
	'navigation',
	'timing',
	'ground',
	'station',
	'cyber',
	'warning',
	'constellation'
];
// Rare words: each in about one document in a hundred, for selective queries.
const RARE = ['量子鍵', 'quasar', '極超音速'];
export const CORPUS_TAGS = ['sda', 'pnt', 'md', 'policy', 'industry', 'alliance', 'cyber', 'norms'];

export interface CorpusDocument {
	id: number;
	kind: DocumentKind;
	title: string;
	summary: string;
	levelRank: number;
	compartmentIds: number[];
	releaseOrgIds: number[];
	originatorOrgId: number;
	authorId: number;
	status: DocumentStatus;
	tags: string[];
	searchText: string;
	updatedAt: Date;
}

/** A small linear congruential generator: the same corpus on every run. */
function random(seed: number) {
	let state = seed >>> 0;
	return () => {
		state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
		return state / 2 ** 32;
	};
}

export interface CorpusOptions {
	count: number;
	orgIds: number[];
	compartmentIds: number[];
	authorIds: number[];
	seed?: number;
}

export async function seedCorpus(db: Database, options: CorpusOptions): Promise<CorpusDocument[]> {
	const rnd = random(options.seed ?? 42);
	const pick = <T>(items: readonly T[]) => items[Math.floor(rnd() * items.length)]!;
	const base = Date.UTC(2026, 0, 1);
	const [home, ...partners] = options.orgIds;
	const all: Omit<CorpusDocument, 'id'>[] = [];
	for (let i = 0; i < options.count; i++) {
		const japanese = rnd() < 0.5;
		const words = japanese ? WORDS_JA : WORDS_EN;
		const titleWords = [pick(words), pick(words), pick(words)];
		const title = japanese
			? titleWords.join('と') + `の分析 ${i}`
			: `${titleWords.join(' ')} note ${i}`;
		const summaryWords = Array.from({ length: 6 }, () => pick(words));
		if (rnd() < 0.01) summaryWords.push(pick(RARE));
		const summary = summaryWords.join(japanese ? '、' : ' ');
		const body = Array.from({ length: 20 }, () =>
			pick(rnd() < 0.8 ? words : [...WORDS_JA, ...WORDS_EN])
		).join(' ');
		const levelRank = Math.floor(rnd() * 5);
		const compartmentIds = options.compartmentIds.filter(() => rnd() < 0.25);
		const release = [home!, ...partners.filter(() => rnd() < 0.4)];
		const authorId = pick(options.authorIds);
		const status: DocumentStatus = rnd() < 0.08 ? 'draft' : rnd() < 0.1 ? 'archived' : 'published';
		all.push({
			kind: rnd() < 0.6 ? 'memo' : 'file',
			title,
			summary,
			levelRank,
			compartmentIds,
			releaseOrgIds: release,
			originatorOrgId: rnd() < 0.8 ? home! : pick(partners),
			authorId,
			status,
			tags: CORPUS_TAGS.filter(() => rnd() < 0.2),
			searchText: searchTextOf(title, summary, body),
			// Groups of three share a timestamp, so ties are broken by id.
			updatedAt: new Date(base + Math.floor(i / 3) * 60_000)
		});
	}
	const created: CorpusDocument[] = [];
	for (let start = 0; start < all.length; start += 500) {
		const batch = all.slice(start, start + 500);
		const rows = await db
			.insert(document)
			.values(batch.map((d) => ({ ...d, createdAt: d.updatedAt })))
			.returning({ id: document.id });
		rows.forEach((r, i) => created.push({ ...batch[i]!, id: r.id }));
	}
	return created;
}
