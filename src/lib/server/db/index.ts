import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { sql, type SQL } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import type { Config } from '../config';
import { acquireLock } from './lock';
import * as schema from './schema';

export { schema };
export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;
export type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];
/** Domain functions take either, so that callers decide the transaction boundary. */
export type Executor = Database | Transaction;

/** Where the database is; whether to migrate on open is the caller's choice, not part of it. */
export type DatabaseConfig = Config['database'] extends infer T
	? T extends unknown
		? Omit<T, 'migrateOnStart'>
		: never
	: never;

export interface DatabaseHandle {
	kind: 'postgres' | 'pglite';
	db: Database;
	/**
	 * For the fixed lookups by key that every request makes (its session with its reader, and a
	 * cached list page's re-read by id): on PostgreSQL a second, small pool whose connections
	 * keep PostgreSQL's own choice of plan, so these statements are planned once per connection
	 * instead of on every request (see `openDatabase`). Only statements whose generic plan is
	 * safe belong here. The same database, read outside any transaction; on PGlite `db` itself.
	 */
	lookups: Database;
	close(): Promise<void>;
}

// Any fixed 64-bit number: all instances agree on it, so only one migrates at a time.
const MIGRATION_LOCK_KEY = 7_310_442_001;

/**
 * postgres.js's client for `url`. A URL may name a Unix-domain socket as libpq does, by its
 * directory in a `host` parameter (`postgres://app@localhost/jiss?host=/var/run/postgresql`):
 * postgres.js would otherwise send `host` to the server as a setting, which refuses to start
 * the connection. On the same machine as PostgreSQL a socket costs about half the CPU per
 * statement of TCP on 127.0.0.1 (README, "Scaling out").
 */
export function connect(url: string, options: postgres.Options<Record<string, never>> = {}) {
	const parsed = new URL(url);
	const socketDir = parsed.searchParams.get('host');
	if (socketDir === null) return postgres(url, options);
	if (!socketDir.startsWith('/')) {
		throw new Error(
			"A database URL's host parameter must be a socket directory (an absolute path)"
		);
	}
	parsed.searchParams.delete('host');
	return postgres(parsed.toString(), { ...options, host: socketDir });
}

export function migrationsFolder(): string {
	return path.resolve('drizzle');
}

async function openPglite(dir: string): Promise<{ client: PGlite; release: () => void }> {
	if (dir.startsWith('memory://')) {
		return { client: await PGlite.create({ extensions: { pg_trgm } }), release: () => {} };
	}
	mkdirSync(dir, { recursive: true });
	const release = acquireLock(path.join(path.dirname(dir), 'pglite.lock'));
	try {
		const client = await PGlite.create({ dataDir: dir, extensions: { pg_trgm } });
		return { client, release };
	} catch (error) {
		release();
		throw error;
	}
}

/** Applies the committed migrations under an advisory lock, so concurrent starts migrate once. */
export async function runMigrations(config: DatabaseConfig): Promise<void> {
	if (config.kind === 'postgres') {
		const client = connect(config.ownerUrl, { max: 1, connect_timeout: 10, onnotice: () => {} });
		try {
			await client`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
			try {
				await migratePostgres(drizzlePostgres(client), { migrationsFolder: migrationsFolder() });
				if (config.url !== config.ownerUrl) await narrowAppRole(client, config.url);
			} finally {
				await client`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`;
			}
		} finally {
			await client.end();
		}
		return;
	}
	throw new Error('PGlite migrations run on the open handle: use openDatabase({ migrate: true })');
}

type PostgresClient = ReturnType<typeof postgres>;

/**
 * Migration 0003 narrows `jiss_app`, the role docker/postgres/init-roles.sh creates unless told
 * otherwise. Whatever the app's role is called, when it is not the role that migrates it is
 * narrowed the same way after each migration run: it may read and add audit events, never
 * change or remove them, and may only read and lock the chain's head, which the insert trigger
 * moves (migration 0007; `owner` is the migrating connection).
 */
async function narrowAppRole(owner: PostgresClient, appUrl: string): Promise<void> {
	const app = connect(appUrl, { max: 1, connect_timeout: 10, onnotice: () => {} });
	let role: string | undefined;
	try {
		role = (await app<{ role: string }[]>`select current_user as role`)[0]?.role;
	} finally {
		await app.end();
	}
	const [self] = await owner<{ role: string }[]>`select current_user as role`;
	if (role === undefined || role === self?.role) return;
	await owner.begin(async (tx) => {
		await tx`revoke all on table audit_event from ${tx(role)}`;
		await tx`grant select, insert on table audit_event to ${tx(role)}`;
		await tx`revoke all on table audit_head from ${tx(role)}`;
		await tx`grant select on table audit_head to ${tx(role)}`;
		await tx`grant execute on function audit_head_lock() to ${tx(role)}`;
	});
}

/**
 * Whether this connection's role could rewrite the audit log: a superuser, a member of the
 * table's owner (which may switch its triggers off), or any of UPDATE, DELETE, TRUNCATE on it.
 * The production shape connects as a role that can do none of these (see narrowAppRole).
 */
export async function canRewriteAudit(db: Database): Promise<boolean> {
	const [row] = await queryRows<{ rewrite: boolean }>(
		db,
		sql`select r.rolsuper
				or pg_has_role(current_user, c.relowner, 'MEMBER')
				or has_table_privilege('audit_event', 'UPDATE')
				or has_table_privilege('audit_event', 'DELETE')
				or has_table_privilege('audit_event', 'TRUNCATE') as rewrite
			from pg_roles r, pg_class c
			where r.rolname = current_user and c.oid = 'audit_event'::regclass`
	);
	return row?.rewrite !== false;
}

/**
 * drizzle-orm asks postgres.js for an unnamed statement on every query not built with
 * `.prepare()`, so PostgreSQL parses each query again on every request (a millisecond for the
 * vault's statements with the access predicate). This makes every query a named prepared
 * statement, which postgres.js keeps per connection by query text (and drops with the
 * connection, every 30 to 60 minutes): each query shape is parsed once per connection. Query
 * texts are drizzle's, with every value a parameter, so there are as many statements as query
 * shapes. Inside transactions and savepoints too.
 *
 * Plans stay per execution (`plan_cache_mode = force_custom_plan` on every connection): a
 * generic plan cannot see the reader's level, compartments and organisation, and the one
 * PostgreSQL picked after five executions read the array indexes for the whole corpus instead
 * of 25 rows by primary key (0.3 ms became 160 ms on 100,000 documents).
 */
function namedStatements(client: PostgresClient): PostgresClient {
	type Scope = (inner: PostgresClient) => unknown;
	return new Proxy(client, {
		get(target, property, receiver) {
			if (property === 'unsafe') {
				return (query: string, params?: unknown[], options?: object) =>
					target.unsafe(query, params as never, { ...options, prepare: true });
			}
			if (property === 'begin' || property === 'savepoint') {
				return (...args: unknown[]) => {
					const scope = args.pop() as Scope;
					const method = Reflect.get(target, property) as (...a: unknown[]) => unknown;
					return method(...args, (inner: PostgresClient) => scope(namedStatements(inner)));
				};
			}
			return Reflect.get(target, property, receiver);
		}
	});
}

export async function openDatabase(
	config: DatabaseConfig,
	options: { migrate?: boolean } = {}
): Promise<DatabaseHandle> {
	if (config.kind === 'postgres') {
		if (options.migrate) await runMigrations(config);
		const pool = (max: number, planCacheMode: 'force_custom_plan' | 'auto') =>
			connect(config.url, {
				max,
				// A database host that has gone silent fails a request in seconds, not half a
				// minute; the pool keeps trying on later requests, so the app recovers when the
				// host returns.
				connect_timeout: 10,
				onnotice: () => {},
				connection: { application_name: 'jiss-intranet', plan_cache_mode: planCacheMode }
			});
		// Every query, planned on each execution: see namedStatements.
		const client = pool(config.poolSize, 'force_custom_plan');
		// The session and reader lookups (a primary key and a few small grant subqueries) and the
		// re-read of a cached page (rows by primary key, fenced: see buildPageReread), for which
		// the generic plan PostgreSQL settles on after five executions is the right plan.
		// Planning them on every request cost more than running them (on the vault benchmark,
		// about 0.3, 0.7 and 0.45 ms of the server's CPU against 0.05, 0.1 and 0.3).
		const lookupClient = pool(Math.max(2, Math.ceil(config.poolSize / 2)), 'auto');
		const db = drizzlePostgres(namedStatements(client), { schema }) as unknown as Database;
		const lookups = drizzlePostgres(namedStatements(lookupClient), {
			schema
		}) as unknown as Database;
		return {
			kind: 'postgres',
			db,
			lookups,
			close: async () => {
				await Promise.all([client.end({ timeout: 5 }), lookupClient.end({ timeout: 5 })]);
			}
		};
	}
	const { client, release } = await openPglite(config.dir);
	const db = drizzlePglite(client, { schema }) as unknown as Database;
	try {
		if (options.migrate) {
			await db.execute(sql`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`);
			try {
				await migratePglite(drizzlePglite(client), { migrationsFolder: migrationsFolder() });
			} finally {
				await db.execute(sql`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`);
			}
		}
	} catch (error) {
		await client.close();
		release();
		throw error;
	}
	return {
		kind: 'pglite',
		db,
		lookups: db,
		close: async () => {
			await client.close();
			release();
		}
	};
}

let current: DatabaseHandle | undefined;

export function setDatabase(handle: DatabaseHandle | undefined): void {
	current = handle;
}

/** The process-wide database, opened by the server's `init` hook or by a CLI/test setup. */
export function getDb(): Database {
	if (!current) throw new Error('The database is not open yet');
	return current.db;
}

/** The pool for the per-request lookups by key (`DatabaseHandle.lookups`). */
export function getLookupDb(): Database {
	if (!current) throw new Error('The database is not open yet');
	return current.lookups;
}

export function getDatabaseHandle(): DatabaseHandle {
	if (!current) throw new Error('The database is not open yet');
	return current;
}

/**
 * A statement built once per executor and kept as long as the executor is (a WeakMap), for the
 * fixed queries every request makes: drizzle's query building took more of the app's time than
 * the database took to run them. `build` returns a `.prepare()`d query whose varying values are
 * `sql.placeholder`s, filled in on each `execute`.
 */
export function builtOnce<T>(build: (executor: Executor) => T): (executor: Executor) => T {
	const built = new WeakMap<Executor, T>();
	return (executor) => {
		let query = built.get(executor);
		if (query === undefined) {
			query = build(executor);
			built.set(executor, query);
		}
		return query;
	};
}

/** Counts come back as int8: BigInt on PGlite, string on postgres.js. */
export function toNumber(value: unknown): number {
	if (typeof value === 'number') return value;
	if (typeof value === 'bigint' || typeof value === 'string') return Number(value);
	throw new TypeError(`Not a number: ${typeof value}`);
}

/**
 * Runs raw SQL and returns its rows on both drivers (postgres.js answers with an array,
 * PGlite with `{ rows }`). Prefer the query builder; use this for SQL it cannot express.
 */
export async function queryRows<T extends Record<string, unknown>>(
	executor: Executor,
	query: SQL
): Promise<T[]> {
	const result = (await executor.execute(query)) as unknown;
	if (Array.isArray(result)) return result as T[];
	return ((result as { rows?: T[] }).rows ?? []) as T[];
}

export const UNIQUE_VIOLATION = '23505';

/**
 * The SQLSTATE of the database server's error anywhere in the cause chain (drizzle wraps the
 * driver's error), or undefined for any other failure (a socket's `EPIPE` is not one).
 */
export function sqlStateOf(error: unknown): string | undefined {
	for (let e = error, depth = 0; e && typeof e === 'object' && depth <= 5; depth++) {
		const code = (e as { code?: unknown }).code;
		if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && 'severity' in e) return code;
		e = (e as { cause?: unknown }).cause;
	}
	return undefined;
}
