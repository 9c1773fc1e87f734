import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createServerDatabase, needsServerReason, onServer } from '../../../tests/helpers/database';
import { loadSigningKey } from './audit/signing';
import { ConfigError } from './config';
import { queryRows, toNumber, type Database } from './db';
import { log } from './log';
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

/** A 32-byte seed and its `id:base64` forms: the seed, and the public key to pin. */
function auditKey(id: string) {
	const seed = randomBytes(32);
	const key = loadSigningKey({ id, key: seed });
	return {
		seed: seed.toString('base64'),
		signing: `${id}:${seed.toString('base64')}`,
		pin: `${id}:${key.publicKeyBase64}`,
		fingerprint: key.fingerprint
	};
}

/** Production's required variables; nothing here is contacted before the audit keys are checked. */
function productionEnv(audit: string, database = 'postgres://app@127.0.0.1:9/jiss') {
	return {
		INTRANET_MODE: 'production',
		DATABASE_URL: database,
		S3_BUCKET: 'jiss-documents',
		S3_ENDPOINT: 'http://127.0.0.1:9',
		S3_ACCESS_KEY_ID: 'access',
		S3_SECRET_ACCESS_KEY: 'secret',
		ORIGIN: 'https://intranet.jiss.example',
		SMTP_URL: 'smtp://127.0.0.1:9',
		MFA_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
		AUDIT_SIGNING_KEY: audit,
		DATA_DIR: tempDir(),
		LOG_LEVEL: 'warn'
	};
}

async function refusal(env: Record<string, string>): Promise<ConfigError> {
	const error = await start(env).then(
		() => expect.unreachable('started'),
		(e: unknown) => e
	);
	expect(error).toBeInstanceOf(ConfigError);
	return error as ConfigError;
}

describe('audit keys at start', () => {
	it('refuses to start when the key that signs new checkpoints is not among the pinned keys', async () => {
		const current = auditKey('a2');
		const older = auditKey('a1');
		const other = auditKey('a2');
		const signing = `${current.signing},${older.signing}`;
		// Its id not pinned at all (a rotation whose new public key was not added), in production
		// and in demo mode alike, or another key pinned under its id (a swapped signing key).
		for (const [env, fragment] of [
			[
				{ ...productionEnv(signing), AUDIT_VERIFY_KEYS: older.pin },
				`holds no key under the id a2, the one that signs new checkpoints (fingerprint ${current.fingerprint})`
			],
			[
				{ ...productionEnv(signing), AUDIT_VERIFY_KEYS: `${other.pin},${older.pin}` },
				`pins another key under the id a2 (fingerprint ${other.fingerprint}) than the one that ` +
					`signs new checkpoints (fingerprint ${current.fingerprint})`
			],
			[
				{
					DATA_DIR: tempDir(),
					LOG_LEVEL: 'silent',
					AUDIT_SIGNING_KEY: signing,
					AUDIT_VERIFY_KEYS: `${other.pin},${older.pin}`
				},
				`pins another key under the id a2`
			]
		] as const) {
			const error = await refusal(env);
			expect(error.problems).toHaveLength(1);
			expect(error.problems[0]!.variable).toBe('AUDIT_VERIFY_KEYS');
			expect(error.message).toContain(fragment);
			// Only ids and fingerprints: no seed.
			for (const key of [current, older, other]) expect(error.message).not.toContain(key.seed);
		}
	});
});

describe.skipIf(!onServer)(`audit keys at a production start (${needsServerReason})`, () => {
	it('warns once without pinned keys, naming no secret, and starts with the signing key pinned', async () => {
		const server = await createServerDatabase();
		const stream = pino.symbols.streamSym as unknown as 'stream';
		const logged = log as unknown as Record<'stream', { write(line: string): void }>;
		const original = logged[stream];
		const lines: string[] = [];
		logged[stream] = { write: (line) => void lines.push(line) };
		const level = log.level;
		try {
			const key = auditKey('a1');
			const older = auditKey('a0');
			const signing = `${key.signing},${older.signing}`;
			const unpinned = await start(productionEnv(signing, server.url));
			await unpinned.database.close();
			const warnings = lines.filter((line) => line.includes('AUDIT_VERIFY_KEYS'));
			expect(warnings).toHaveLength(1);
			expect(JSON.parse(warnings[0]!)).toMatchObject({
				level: 40,
				signingKey: { id: 'a1', fingerprint: key.fingerprint }
			});
			for (const line of lines) {
				expect(line).not.toContain(key.seed);
				expect(line).not.toContain(older.seed);
			}

			// Pinned (the older key's public half may be left out: only the signer's is needed).
			lines.length = 0;
			const pinned = await start({
				...productionEnv(signing, server.url),
				AUDIT_VERIFY_KEYS: key.pin
			});
			await pinned.database.close();
			expect(lines.filter((line) => line.includes('AUDIT_VERIFY_KEYS'))).toEqual([]);
		} finally {
			logged[stream] = original;
			log.level = level;
			await server.drop();
		}
	});
});
