import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, queryRows, type DatabaseHandle } from '../../src/lib/server/db';
import { account, organisation } from '../../src/lib/server/db/schema';
import { buildCommands } from '../helpers/cli';
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

beforeAll(() => buildCommands(outDir));

/** A fresh database for one command test: its environment and a way to open it. */
async function freshDatabase() {
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
	return { env, open };
}

describe('the bundled migration command', () => {
	it('applies the migrations with nothing but the database variables', async () => {
		const { env, open } = await freshDatabase();

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

describe('the bundled bootstrap command', () => {
	it('makes a migrated empty database usable and mails the link, never printing it', async () => {
		const { env: databaseEnv, open } = await freshDatabase();
		const mailDir = mkdtempSync(path.join(os.tmpdir(), 'jiss-cli-mail-'));
		cleanup.push(() => rmSync(mailDir, { recursive: true, force: true }));
		// Demo mode for its outbox (the mail as a file to read here); no other difference.
		const env = {
			...databaseEnv,
			INTRANET_MODE: 'demo',
			DATA_DIR: databaseEnv.DATA_DIR ?? mailDir,
			ORIGIN: 'https://intranet.jiss.example',
			LOG_LEVEL: 'silent'
		};
		const command = (args: string[]) =>
			spawnSync(process.execPath, [path.join(outDir, 'bootstrap.js'), ...args], {
				env,
				encoding: 'utf8'
			});
		expect(
			spawnSync(process.execPath, [path.join(outDir, 'migrate.js')], { env, encoding: 'utf8' })
				.status
		).toBe(0);

		const first = command([
			'--email',
			'root@jiss.example',
			'--name',
			'Operator One',
			'--reason',
			'New installation'
		]);
		expect(first.stderr).toBe('');
		expect(first.status).toBe(0);
		expect(first.stdout).toContain('the default level ladder was created');
		expect(first.stdout).toContain('a one-time link was mailed to the person');
		expect(first.stdout).not.toMatch(/enrol\//);
		const outbox = path.join(env.DATA_DIR, 'outbox');
		const mails = readdirSync(outbox).map((name) => readFileSync(path.join(outbox, name), 'utf8'));
		expect(mails).toHaveLength(1);
		expect(mails[0]).toMatch(/^To: root@jiss\.example$/m);
		expect(mails[0]).toMatch(/https:\/\/intranet\.jiss\.example\/enrol\/[A-Za-z0-9_-]{43}/);

		// An account that is not an administrator is refused (exit 2), and so is bad input (1).
		const handle = await open();
		try {
			await handle.db.insert(account).values({
				email: 'staff@jiss.example',
				displayName: 'Staff',
				organisationId: (await handle.db.select().from(organisation))[0]!.id,
				roles: ['staff'],
				status: 'active'
			});
		} finally {
			await handle.close();
		}
		const refused = command([
			'--email',
			'staff@jiss.example',
			'--name',
			'Staff',
			'--reason',
			'Make me an administrator'
		]);
		expect(refused.status).toBe(2);
		expect(refused.stderr).toContain(
			'Refused: That address belongs to an account without the administrator role'
		);
		const bad = command(['--email', 'nobody', '--name', 'X']);
		expect(bad.status).toBe(1);
		expect(bad.stderr).toContain('--email: not an email address');
		expect(bad.stderr).toContain('--reason:');
		expect(bad.stderr).toContain('Usage: bootstrap');
	});
});
