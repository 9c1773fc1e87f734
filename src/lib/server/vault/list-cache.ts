import { sql } from 'drizzle-orm';
import type { Access } from '../access';
import { queryRows, toNumber, type Executor } from '../db';
import type { DocumentFilters } from './documents';
import { queryTerms } from './search-text';

/**
 * What the document list computes in SQL (counts, facets, the ids of a page) kept for a while
 * in this process, so that a reader paging or coming back does not make the database read
 * every readable row again.
 *
 * Safety rests on the key, not on invalidation: an entry is found only by the reader's exact
 * access (account, organisation, level, compartments: everything `readableSql` reads), the
 * normalised filters, and the data generation (drizzle/0004_vault_generation.sql), which every
 * change to documents or reference tables raises in the same transaction. So a grant granted
 * or revoked, or any document created, edited, archived or reclassified by anyone in any
 * instance, makes the next request miss and compute afresh. The TTL and the entry cap only
 * bound memory and age.
 */
export class BoundedCache<V> {
	readonly #entries = new Map<string, { value: V; expires: number }>();

	constructor(
		public maxEntries: number,
		public ttlMs: number,
		private readonly now: () => number = () => performance.now()
	) {}

	get(key: string): V | undefined {
		const entry = this.#entries.get(key);
		if (!entry) return undefined;
		this.#entries.delete(key);
		if (entry.expires <= this.now()) return undefined;
		// Re-inserted: a Map iterates in insertion order, so the first key is the least recent.
		this.#entries.set(key, entry);
		return entry.value;
	}

	set(key: string, value: V): void {
		if (this.maxEntries <= 0) return;
		this.#entries.delete(key);
		this.#entries.set(key, { value, expires: this.now() + this.ttlMs });
		while (this.#entries.size > this.maxEntries) {
			const oldest = this.#entries.keys().next().value as string;
			this.#entries.delete(oldest);
		}
	}

	get size(): number {
		return this.#entries.size;
	}

	clear(): void {
		this.#entries.clear();
	}
}

export const LIST_CACHE_MAX_ENTRIES = 2_000;
export const LIST_CACHE_TTL_MS = 60_000;

/** One cache per process for every list figure; values are small (ids and counts). */
export const listCache = new BoundedCache<unknown>(LIST_CACHE_MAX_ENTRIES, LIST_CACHE_TTL_MS);

/**
 * The current data generation, or null when it cannot be read (then nothing is cached or
 * served from the cache: fail closed, compute afresh).
 */
export async function dataGeneration(executor: Executor): Promise<number | null> {
	try {
		const [row] = await queryRows<{ generation: unknown }>(
			executor,
			sql`select generation from vault_generation where id = 1`
		);
		return row ? toNumber(row.generation) : null;
	} catch {
		return null;
	}
}

/** Everything `readableSql(access)` depends on, in a canonical form. */
export function accessSignature(access: Access): string {
	const compartments = [...new Set(access.compartmentIds)].sort((a, b) => a - b);
	return JSON.stringify([access.accountId, access.organisationId, access.level, compartments]);
}

/** The filters as the SQL sees them: the same key for the same WHERE clause and ordering. */
export function filtersSignature(filters: DocumentFilters): string {
	return JSON.stringify([
		filters.levels && filters.levels.length > 0
			? [...new Set(filters.levels)].sort((a, b) => a - b)
			: null,
		filters.compartmentId ?? null,
		filters.originatorOrgId ?? null,
		filters.kind ?? null,
		filters.tag ?? null,
		filters.status ?? null,
		filters.authorId ?? null,
		filters.updatedFrom ?? null,
		filters.updatedTo ?? null,
		filters.updatedFrom || filters.updatedTo ? (filters.timeZone ?? 'UTC') : null,
		// Order kept: the first term chooses the snippet.
		queryTerms(filters.q ?? '')
	]);
}

/**
 * The value cached under (`what`, generation, access, filters), or `compute()` stored there.
 * Without a generation the value is computed and not stored.
 */
export async function cached<V>(
	generation: number | null,
	what: string,
	access: Access,
	filters: DocumentFilters,
	compute: () => Promise<V>
): Promise<{ value: V; hit: boolean }> {
	if (generation === null) return { value: await compute(), hit: false };
	const key = cacheKey(generation, what, access, filters);
	const found = listCache.get(key) as V | undefined;
	if (found !== undefined) return { value: found, hit: true };
	// Concurrent requests for the same key wait for one computation instead of each running it.
	const running = inFlight.get(key) as Promise<V> | undefined;
	if (running) return { value: await running, hit: true };
	const computing = compute();
	inFlight.set(key, computing);
	try {
		const value = await computing;
		listCache.set(key, value);
		return { value, hit: false };
	} finally {
		inFlight.delete(key);
	}
}

const inFlight = new Map<string, Promise<unknown>>();

function cacheKey(generation: number, what: string, access: Access, filters: DocumentFilters) {
	return `${generation}|${what}|${accessSignature(access)}|${filtersSignature(filters)}`;
}

/** Whether a value is cached under these parts. */
export function isCached(
	generation: number | null,
	what: string,
	access: Access,
	filters: DocumentFilters
): boolean {
	if (generation === null) return false;
	return listCache.get(cacheKey(generation, what, access, filters)) !== undefined;
}

/** Stores a value computed elsewhere (with the same access and filters) under these parts. */
export function store(
	generation: number | null,
	what: string,
	access: Access,
	filters: DocumentFilters,
	value: unknown
): void {
	if (generation !== null) listCache.set(cacheKey(generation, what, access, filters), value);
}
