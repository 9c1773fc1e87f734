import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase, queryRows, type DatabaseHandle } from '../../src/lib/server/db';
import { createServerDatabase, onServer } from '../helpers/database';

/*
 * The production image runs migrations as a separate job with build/cli/migrate.js, bundled by
 * vite.cli.config.ts and run by plain Node against production dependencies only.
 */
const outDir = path.join('tests/.tmp', `cli-${randomBytes(4).toString('hex')}`);
const cleanup: (() => Promise<void> | void)[] = [
	() => rmSync(outDir, { recursive: true, force: true })
];
afterAll(async () => {
	for (const step of cleanup) await step();
});

describe('the bundled migration command', () => {
	it('applies the migrations with nothing but the database variables', async () => {
		const build = spawnSync(
			process.execPath,
			[
				'node_modules/vite/bin/vite.js',
				'build',
				'--config',
				'vite.cli.config.ts',
				'--outDir',
				outDir,
				'--logLevel',
				'error'
			],
			{ encoding: 'utf8' }
		);
		expect(build.status, build.stderr).toBe(0);

		const env: Record<string, string> = { PATH: process.env.PATH ?? '' };
		let open: () => Promise<DatabaseHandle>;
		if (onServer) {
			const database = await createServerDatabase();
			cleanup.push(() => database.drop());
			env.DATABASE_URL = database.url;
			open = () =>
				openDatabase({
					kind: 'postgres',
					url: database.url,
					ownerUrl: database.url,
					poolSize: 1
				});
		} else {
			const dataDir = mkdtempSync(path.join(os.tmpdir(), 'jiss-cli-'));
			cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
			env.DATA_DIR = dataDir;
			open = () => openDatabase({ kind: 'pglite', dir: path.join(dataDir, 'pglite') });
		}
		// Production mode with none of the app's other secrets: the job does not need them.
		env.INTRANET_MODE = 'production';
		const run = spawnSync(process.execPath, [path.join(outDir, 'migrate.js')], {
			env,
			encoding: 'utf8'
		});
		expect(run.stderr).toBe('');
		expect(run.status).toBe(0);
		expect(run.stdout).toMatch(/^Migrations applied \((postgres|pglite)\)\.$/m);

		const handle = await open();
		try {
			const rows = await queryRows<{ n: unknown }>(
				handle.db,
				sql`select count(*) as n from drizzle.__drizzle_migrations`
			);
			expect(Number(rows[0]!.n)).toBeGreaterThan(0);
		} finally {
			await handle.close();
		}

		const bad = spawnSync(process.execPath, [path.join(outDir, 'migrate.js')], {
			env: { ...env, DATABASE_URL: 'mysql://nope' },
			encoding: 'utf8'
		});
		expect(bad.status).toBe(1);
		expect(bad.stderr).toContain('DATABASE_URL: must be a postgres:// or postgresql:// URL');
	});
});
