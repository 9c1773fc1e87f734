import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/lib/server/db';
import { start } from '../../src/lib/server/startup';
import { needsServerReason, onServer, serverUrl } from '../helpers/database';

/*
 * docker/postgres/init-roles.sh run for real against the PostgreSQL server, under throwaway
 * names: the owner role applies the migrations, the application role can then only work with
 * rows, never with the schema.
 */
describe.skipIf(!onServer)(`database roles for docker compose (${needsServerReason})`, () => {
	it('lets the owner migrate and the application role only read and write rows', async () => {
		const suffix = randomBytes(4).toString('hex');
		const database = `jiss_t_roles_${suffix}`;
		const owner = `jiss_t_owner_${suffix}`;
		const app = `jiss_t_app_${suffix}`;
		const secrets = mkdtempSync(path.join(os.tmpdir(), 'jiss-roles-'));
		writeFileSync(path.join(secrets, 'db_owner_password'), 'owner-password\n');
		writeFileSync(path.join(secrets, 'db_app_password'), "app-pass'word\n");
		const server = new URL(serverUrl!);
		const admin = postgres(serverUrl!, { max: 1, onnotice: () => {} });
		const urlFor = (role: string, password: string) => {
			const url = new URL(serverUrl!);
			url.username = role;
			url.password = password;
			url.pathname = `/${database}`;
			return url.toString();
		};
		let appClient: postgres.Sql | undefined;
		try {
			const init = spawnSync('sh', ['docker/postgres/init-roles.sh'], {
				env: {
					...process.env,
					PGHOST: server.hostname,
					PGPORT: server.port || '5432',
					PGPASSWORD: decodeURIComponent(server.password),
					POSTGRES_USER: decodeURIComponent(server.username) || 'postgres',
					SECRETS_DIR: secrets,
					INTRANET_DB: database,
					OWNER_ROLE: owner,
					APP_ROLE: app
				},
				encoding: 'utf8'
			});
			expect(init.status, init.stderr).toBe(0);

			const handle = await openDatabase(
				{
					kind: 'postgres',
					url: urlFor(app, "app-pass'word"),
					ownerUrl: urlFor(owner, 'owner-password'),
					poolSize: 2
				},
				{ migrate: true }
			);
			await handle.close();

			const inDatabase = new URL(serverUrl!);
			inDatabase.pathname = `/${database}`;
			const inspector = postgres(inDatabase.toString(), { max: 1, onnotice: () => {} });
			const owners = await inspector
				.unsafe(`select distinct tableowner from pg_tables where schemaname = 'public'`)
				.finally(() => inspector.end());
			expect(owners.map((r) => r.tableowner)).toEqual([owner]);
			const [passwords] = await admin`
				select count(*)::int as n from pg_authid
				where rolname in (${owner}, ${app}) and rolpassword is not null`;
			expect(passwords!.n).toBe(2);

			// The app itself, started as the application role without migrating: the demo seed
			// writes every kind of row the app writes, the audit log included.
			const dataDir = mkdtempSync(path.join(os.tmpdir(), 'jiss-roles-data-'));
			try {
				const started = await start({
					INTRANET_MODE: 'demo',
					DATABASE_URL: urlFor(app, "app-pass'word"),
					DATABASE_MIGRATE_ON_START: 'false',
					DATA_DIR: dataDir,
					LOG_LEVEL: 'silent'
				});
				expect(started.seeded).toBe(true);
				await started.database.close();
			} finally {
				rmSync(dataDir, { recursive: true, force: true });
			}

			appClient = postgres(urlFor(app, "app-pass'word"), { max: 1, onnotice: () => {} });
			const sql = appClient;
			const [row] = await sql`
				insert into organisation (code, name_en, name_ja) values ('TST', 'Test', 'テスト')
				returning id`;
			await sql`update organisation set name_en = 'Tested' where id = ${row!.id}`;
			const [read] = await sql`select name_en from organisation where id = ${row!.id}`;
			expect(read!.name_en).toBe('Tested');
			await sql`delete from organisation where id = ${row!.id}`;
			await sql.begin((tx) => tx`select pg_advisory_xact_lock(42)`);

			const refused: [string, RegExp][] = [
				['create table intruder (id int)', /permission denied for schema public/],
				['create schema intruder', /permission denied for database/],
				['alter table organisation add column intruder int', /must be owner/],
				['drop table organisation', /must be owner/],
				['truncate organisation', /permission denied/],
				['select * from drizzle.__drizzle_migrations', /permission denied/],
				// Under this renamed role too, the audit log may only be read and added to.
				['update audit_event set outcome = outcome', /permission denied for table audit_event/],
				['delete from audit_event', /permission denied for table audit_event/],
				['truncate audit_event', /permission denied for table audit_event/],
				['delete from audit_head', /permission denied for table audit_head/]
			];
			for (const [statement, message] of refused) {
				await expect(sql.unsafe(statement), statement).rejects.toThrow(message);
			}
		} finally {
			await appClient?.end();
			await admin.unsafe(`drop database if exists ${database} with (force)`);
			await admin.unsafe(`drop role if exists ${app}`);
			await admin.unsafe(`drop role if exists ${owner}`);
			await admin.end();
			rmSync(secrets, { recursive: true, force: true });
		}
	});
});
