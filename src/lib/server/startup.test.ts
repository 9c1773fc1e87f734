import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { createServerDatabase, needsServerReason, onServer } from '../../../tests/helpers/database';
import { queryRows, toNumber, type Database } from './db';
import { DEMO_ACCOUNTS, demoDocuments } from './seed/demo-data';
import { start } from './startup';

const temp: string[] = [];
afterAll(() => {
	for (const dir of temp) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
	const dir = mkdtempSync(path.join(os.tmpdir(), 'jiss-start-'));
	temp.push(dir);
	return dir;
}

async function count(db: Database, table: string): Promise<number> {
	const rows = await queryRows<{ n: unknown }>(db, sql.raw(`select count(*) as n from "${table}"`));
	return toNumber(rows[0]!.n);
}

describe('first start on the embedded defaults', () => {
	it('seeds an empty data folder exactly once and keeps the data across restarts', async () => {
		const dataDir = tempDir();
		const env = { DATA_DIR: dataDir, LOG_LEVEL: 'silent' };

		const first = await start(env);
		expect(first.config.mode).toBe('demo');
		expect(first.database.kind).toBe('pglite');
		expect(first.seeded).toBe(true);
		expect(await count(first.database.db, 'account')).toBe(DEMO_ACCOUNTS.length);
		expect(await count(first.database.db, 'document')).toBe(demoDocuments().length);
		const objects = path.join(dataDir, 'objects', 'versions');
		expect(existsSync(objects)).toBe(true);
		expect(existsSync(path.join(dataDir, 'demo-keys.json'))).toBe(true);
		await first.database.close();

		const second = await start(env);
		expect(second.seeded).toBe(false);
		expect(await count(second.database.db, 'account')).toBe(DEMO_ACCOUNTS.length);
		expect(await count(second.database.db, 'document')).toBe(demoDocuments().length);
		expect(await count(second.database.db, 'document_version')).toBe(demoDocuments().length);
		await second.database.close();
		expect(readdirSync(dataDir).sort()).toEqual(['demo-keys.json', 'objects', 'pglite']);
	});

	it('refuses to start in production mode without its secrets', async () => {
		await expect(
			start({ INTRANET_MODE: 'production', DATA_DIR: tempDir(), LOG_LEVEL: 'silent' })
		).rejects.toThrow(/MFA_ENCRYPTION_KEYS: required/);
	});
});

describe.skipIf(!onServer)(`first start on a PostgreSQL server (${needsServerReason})`, () => {
	it('seeds once when two instances start together on an empty database', async () => {
		const server = await createServerDatabase();
		const dataDir = tempDir();
		try {
			const env = {
				INTRANET_MODE: 'demo',
				DATABASE_URL: server.url,
				DATA_DIR: dataDir,
				LOG_LEVEL: 'silent'
			};
			const [a, b] = await Promise.all([start(env), start(env)]);
			expect([a.seeded, b.seeded].sort()).toEqual([false, true]);
			expect(await count(a.database.db, 'account')).toBe(DEMO_ACCOUNTS.length);
			expect(await count(a.database.db, 'document')).toBe(demoDocuments().length);
			await Promise.all([a.database.close(), b.database.close()]);
		} finally {
			await server.drop();
		}
	});
});
