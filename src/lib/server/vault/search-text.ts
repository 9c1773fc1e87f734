import { eq } from 'drizzle-orm';
import type { Executor } from '../db';
import { document } from '../db/schema';

/**
 * Longest text kept for search per document. The database derives one- and two-character
 * tokens from it (see drizzle/0002_vault_search.sql); a cap keeps that bounded for huge PDFs.
 */
export const SEARCH_TEXT_MAX_CHARS = 200_000;

/**
 * The one normalisation for indexed text and for queries: NFKC (full-width Latin and
 * half-width kana become their usual forms), lower case, no control characters, single spaces.
 * Applied to both sides, a query matches whatever form the author typed.
 */
export function normaliseForSearch(text: string): string {
	return (
		text
			.normalize('NFKC')
			.toLowerCase()
			// eslint-disable-next-line no-control-regex
			.replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g, ' ')
			.replace(/\s+/g, ' ')
			.trim()
			.toWellFormed()
	);
}

/** Title, summary and body in one normalised, capped string. */
export function searchTextOf(...parts: string[]): string {
	const text = normaliseForSearch(parts.join('\n'));
	return text.length > SEARCH_TEXT_MAX_CHARS ? text.slice(0, SEARCH_TEXT_MAX_CHARS) : text;
}

/**
 * Sets what search finds for a document: its current title and summary plus `text` (the memo's
 * Markdown, or text extracted from an uploaded file). Call it in the transaction that adds the
 * version the text comes from.
 */
export async function setSearchText(
	executor: Executor,
	documentId: number,
	text: string
): Promise<void> {
	const [row] = await executor
		.select({ title: document.title, summary: document.summary })
		.from(document)
		.where(eq(document.id, documentId));
	if (!row) throw new Error(`No document ${documentId}`);
	await executor
		.update(document)
		.set({ searchText: searchTextOf(row.title, row.summary, text) })
		.where(eq(document.id, documentId));
}

/** Query terms: split on spaces after normalising; duplicates and empties dropped. */
export function queryTerms(query: string): string[] {
	const terms = normaliseForSearch(query)
		.split(' ')
		.filter((t) => t.length > 0);
	return [...new Set(terms)].slice(0, 8);
}

/**
 * The tokens a term needs in `search_tokens`: itself for one character, else its bigrams.
 * Mirrors `vault_search_tokens` in the migration; the substring check confirms the order.
 */
export function termTokens(term: string): string[] {
	const chars = [...term];
	if (chars.length === 1) return chars;
	const tokens = new Set<string>();
	for (let i = 0; i < chars.length - 1; i++) tokens.add(chars[i]! + chars[i + 1]!);
	return [...tokens];
}

/** For `ILIKE` patterns built from user input. */
export function escapeLike(value: string): string {
	return value.replace(/[\\%_]/g, (c) => '\\' + c);
}
