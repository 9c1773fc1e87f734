import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { openDatabase, type DatabaseHandle } from '../../src/lib/server/db';

/**
 * Integration tests run against the real PostgreSQL server when DATABASE_URL is set (CI always
 * sets it), each test file in a fresh database; otherwise against an in-memory PGlite.
 */
export const serverUrl = process.env.DATABASE_URL;
export const onServer = serverUrl !== undefined && serverUrl !== '';

export interface TestDatabase {
	handle: DatabaseHandle;
	url: string | undefined;
	drop(): Promise<void>;
}

function withDatabase(url: string, name: string): string {
	const parsed = new URL(url);
	parsed.pathname = `/${name}`;
	return parsed.toString();
}

export async function createServerDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
	if (!serverUrl) throw new Error('DATABASE_URL is not set');
	const name = `jiss_t_${randomBytes(6).toString('hex')}`;
	const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
	try {
		await admin.unsafe(`create database ${name}`);
	} finally {
		await admin.end();
	}
	return {
		url: withDatabase(serverUrl, name),
		async drop() {
			const dropper = postgres(serverUrl, { max: 1, onnotice: () => {} });
			try {
				await dropper.unsafe(`drop database if exists ${name} with (force)`);
			} finally {
				await dropper.end();
			}
		}
	};
}

export async function createTestDatabase(): Promise<TestDatabase> {
	if (onServer) {
		const server = await createServerDatabase();
		const handle = await openDatabase(
			{ kind: 'postgres', url: server.url, ownerUrl: server.url, poolSize: 10 },
			{ migrate: true }
		);
		return {
			handle,
			url: server.url,
			async drop() {
				await handle.close();
				await server.drop();
			}
		};
	}
	const handle = await openDatabase({ kind: 'pglite', dir: 'memory://' }, { migrate: true });
	return { handle, url: undefined, drop: () => handle.close() };
}

/** For tests that need a real server (several connections): a visible reason when skipped. */
export const needsServerReason =
	'needs a PostgreSQL server (set DATABASE_URL); PGlite has a single connection';
