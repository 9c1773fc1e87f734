import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../../tests/helpers/database';
import { queryRows } from '../db';

// What vault_search_tokens (drizzle/0002_vault_search.sql) must give: every distinct one- and
// two-character token without white space, computed here independently, character by character.
function expectedTokens(text: string): string[] {
	const chars = [...text];
	const tokens = new Set<string>();
	chars.forEach((c, i) => {
		tokens.add(c);
		if (i + 1 < chars.length) tokens.add(c + chars[i + 1]);
	});
	return [...tokens].filter((t) => !/\s/u.test(t));
}

describe('vault_search_tokens', () => {
	let database: TestDatabase;
	beforeAll(async () => {
		database = await createTestDatabase();
	});
	afterAll(async () => {
		await database?.drop();
	});

	async function tokensOf(text: string): Promise<string[]> {
		const [row] = await queryRows<{ tokens: string[] }>(
			database.handle.db,
			sql`select vault_search_tokens(${text}) as tokens`
		);
		return row?.tokens ?? [];
	}

	it('gives the distinct one- and two-character tokens of mixed Japanese and Latin text', async () => {
		const text = '宇宙の安全保障 space policy, 2026年 宇宙';
		expect((await tokensOf(text)).sort()).toEqual(expectedTokens(text).sort());
		expect(await tokensOf('')).toEqual([]);
	});

	it('tokenises a text at the search-text cap (200,000 characters) completely', async () => {
		// A text with many distinct characters, so that every position matters.
		const text = Array.from({ length: 200_000 }, (_, i) =>
			String.fromCodePoint(0x4e00 + ((i * 7919) % 4000))
		).join('');
		const tokens = await tokensOf(text);
		expect(tokens.length).toBe(expectedTokens(text).length);
		expect(new Set(tokens)).toEqual(new Set(expectedTokens(text)));
	});
});
