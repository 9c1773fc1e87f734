import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
	CONFIG_VARIABLES,
	ConfigError,
	loadConfig,
	loadDatabaseConfig,
	SECRET_VARIABLES,
	type Environment
} from './config';

const key32 = Buffer.alloc(32, 7).toString('base64');
const production: Environment = {
	INTRANET_MODE: 'production',
	DATABASE_URL: 'postgres://app@db/jiss',
	S3_BUCKET: 'jiss-documents',
	S3_ENDPOINT: 'http://seaweedfs:8333',
	S3_ACCESS_KEY_ID: 'access',
	S3_SECRET_ACCESS_KEY: 'secret',
	ORIGIN: 'https://intranet.jiss.example',
	SMTP_URL: 'smtp://mail:25',
	MFA_ENCRYPTION_KEYS: `k1:${key32}`,
	AUDIT_SIGNING_KEY: `a1:${key32}`
};

function problemsOf(env: Environment): { variable: string; message: string }[] {
	try {
		loadConfig(env);
	} catch (error) {
		if (error instanceof ConfigError) return error.problems;
		throw error;
	}
	throw new Error('expected a ConfigError');
}

function expectProblem(env: Environment, variable: string, fragment: string) {
	const problems = problemsOf(env);
	const match = problems.find((p) => p.variable === variable);
	expect(match, JSON.stringify(problems)).toBeDefined();
	expect(match!.message).toContain(fragment);
}

describe('loadConfig', () => {
	it('defaults to demo mode on the embedded database and local object store', () => {
		const config = loadConfig({});
		expect(config.mode).toBe('demo');
		expect(config.database.kind).toBe('pglite');
		expect(config.storage.kind).toBe('local');
		expect(config.mail.kind).toBe('outbox');
		expect(config.displayTimeZone).toBe('Asia/Tokyo');
		expect(config.mfaRequiredForAll).toBe(true);
		expect(config.uploadMaxBytes).toBe(1024 ** 3);
		expect(config.grantMaxDays).toBe(1826);
	});

	it('accepts a complete production configuration', () => {
		const config = loadConfig(production);
		expect(config.mode).toBe('production');
		expect(config.database).toMatchObject({ kind: 'postgres', url: production.DATABASE_URL });
		expect(config.storage).toMatchObject({
			kind: 's3',
			bucket: 'jiss-documents',
			connectTimeoutMs: 5000,
			requestTimeoutMs: 120_000
		});
		expect(config.mfaEncryptionKeys?.[0]?.id).toBe('k1');
		expect(config.mfaRequiredForAll).toBe(false);
	});

	it('names each variable that is wrong and why', () => {
		expectProblem({ INTRANET_MODE: 'staging' }, 'INTRANET_MODE', 'demo or production');
		expectProblem({ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL', 'postgres://');
		expectProblem({ DATABASE_POOL_SIZE: 'many' }, 'DATABASE_POOL_SIZE', 'whole number');
		expectProblem(
			{ DATABASE_MIGRATE_ON_START: 'sometimes' },
			'DATABASE_MIGRATE_ON_START',
			'true or false'
		);
		expectProblem({ S3_ENDPOINT: 'not a url' }, 'S3_ENDPOINT', 'URL');
		expectProblem({ S3_BUCKET: 'Bad_Bucket!' }, 'S3_BUCKET', 'bucket name');
		expectProblem({ S3_FORCE_PATH_STYLE: 'maybe' }, 'S3_FORCE_PATH_STYLE', 'true or false');
		expectProblem({ S3_CONNECT_TIMEOUT_MS: '10' }, 'S3_CONNECT_TIMEOUT_MS', 'at least 100');
		expectProblem({ S3_REQUEST_TIMEOUT_MS: 'soon' }, 'S3_REQUEST_TIMEOUT_MS', 'whole number');
		expectProblem({ ORIGIN: 'intranet' }, 'ORIGIN', 'public URL');
		expectProblem({ SMTP_URL: 'http://mail' }, 'SMTP_URL', 'smtp://');
		expectProblem({ DISPLAY_TIME_ZONE: 'Mars/Olympus' }, 'DISPLAY_TIME_ZONE', 'IANA');
		expectProblem({ MFA_ENCRYPTION_KEYS: 'k1:c2hvcnQ=' }, 'MFA_ENCRYPTION_KEYS', '32 bytes');
		expectProblem({ AUDIT_SIGNING_KEY: 'no-colon' }, 'AUDIT_SIGNING_KEY', 'id:base64');
		expectProblem(
			{ MFA_ENCRYPTION_KEYS: `k1:${key32},k1:${key32}` },
			'MFA_ENCRYPTION_KEYS',
			'appears twice'
		);
		// Two public keys pinned under one id: which one a checkpoint names would be a guess.
		expectProblem(
			{ AUDIT_VERIFY_KEYS: `a1:${key32},a1:${Buffer.alloc(32, 8).toString('base64')}` },
			'AUDIT_VERIFY_KEYS',
			'key id a1 appears twice'
		);
		expectProblem({ PASSWORD_MIN_LENGTH: '6' }, 'PASSWORD_MIN_LENGTH', 'at least 8');
		expectProblem({ SESSION_IDLE_MINUTES: '0' }, 'SESSION_IDLE_MINUTES', 'at least 1');
		expectProblem({ UPLOAD_MAX_BYTES: '-1' }, 'UPLOAD_MAX_BYTES', 'at least 1');
		expectProblem({ LOG_LEVEL: 'loud' }, 'LOG_LEVEL', '');
		expectProblem({ GRANT_MAX_DAYS: '0' }, 'GRANT_MAX_DAYS', 'at least 1');
		expectProblem({ GRANT_MAX_DAYS: '3654' }, 'GRANT_MAX_DAYS', 'at most 3653');
		// The example files' all-zero keys are known to everyone.
		const zero = `k1:${Buffer.alloc(32).toString('base64')}`;
		expectProblem({ MFA_ENCRYPTION_KEYS: zero }, 'MFA_ENCRYPTION_KEYS', 'all zero bytes');
		expectProblem({ AUDIT_SIGNING_KEY: zero }, 'AUDIT_SIGNING_KEY', 'all zero bytes');
	});

	it('names a URL that does not parse without repeating it (its password would be in the log)', () => {
		for (const [variable, value] of [
			['DATABASE_URL', 'postgres://jiss_app:Sup3r/S3cret+xyz@127.0.0.1:5432/jiss'],
			['DATABASE_OWNER_URL', 'postgres://owner:Sup3r/S3cret+xyz@127.0.0.1:5432/jiss'],
			['SMTP_URL', 'smtps://relay:Relay/S3cret@mail.example:465']
		] as const) {
			const env = { DATABASE_URL: 'postgres://app@127.0.0.1/jiss', [variable]: value };
			expectProblem(env, variable, 'not a valid URL');
			expect(JSON.stringify(problemsOf(env))).not.toContain('S3cret');
		}
	});

	it('refuses half-given S3 configuration', () => {
		expectProblem(
			{ INTRANET_MODE: 'demo', S3_BUCKET: 'jiss', S3_ACCESS_KEY_ID: 'a' },
			'S3_SECRET_ACCESS_KEY',
			'pair'
		);
		expectProblem(
			{ INTRANET_MODE: 'demo', S3_ACCESS_KEY_ID: 'a', S3_SECRET_ACCESS_KEY: 'b' },
			'S3_BUCKET',
			'required'
		);
		expectProblem(
			{ INTRANET_MODE: 'demo', S3_BUCKET: 'jiss', S3_ENDPOINT: 'http://s3:8333' },
			'S3_ACCESS_KEY_ID',
			'S3_ENDPOINT'
		);
	});

	it('requires an explicit mode once a server is configured', () => {
		expectProblem({ DATABASE_URL: 'postgres://db/jiss' }, 'INTRANET_MODE', 'required');
		expectProblem({ DATABASE_OWNER_URL: 'postgres://db/jiss' }, 'DATABASE_URL', 'required');
	});

	it('refuses production without its secrets, mail transport and services', () => {
		for (const name of [
			'DATABASE_URL',
			'S3_BUCKET',
			'ORIGIN',
			'SMTP_URL',
			'MFA_ENCRYPTION_KEYS',
			'AUDIT_SIGNING_KEY'
		]) {
			const env = { ...production, [name]: undefined };
			if (name === 'S3_BUCKET') {
				delete env.S3_ENDPOINT;
				delete env.S3_ACCESS_KEY_ID;
				delete env.S3_SECRET_ACCESS_KEY;
			}
			expectProblem(env, name, 'required');
		}
		expectProblem({ ...production, ORIGIN: 'http://intranet.jiss.example' }, 'ORIGIN', 'https');
	});

	it('reads secrets from *_FILE and refuses both forms at once', () => {
		const dir = mkdtempSync(path.join(os.tmpdir(), 'jiss-config-'));
		const file = path.join(dir, 'secret');
		writeFileSync(file, 'from-file\n');
		const config = loadConfig({
			...production,
			S3_SECRET_ACCESS_KEY: undefined,
			S3_SECRET_ACCESS_KEY_FILE: file
		});
		expect(config.storage.kind === 's3' && config.storage.credentials?.secretAccessKey).toBe(
			'from-file'
		);
		expectProblem(
			{ ...production, S3_SECRET_ACCESS_KEY_FILE: file },
			'S3_SECRET_ACCESS_KEY_FILE',
			'use one'
		);
		expectProblem(
			{ ...production, SMTP_URL: undefined, SMTP_URL_FILE: path.join(dir, 'missing') },
			'SMTP_URL_FILE',
			'cannot read'
		);
	});

	it('never puts a secret value into its error message', () => {
		try {
			loadConfig({ ...production, MFA_ENCRYPTION_KEYS: 'k1:dG9wLXNlY3JldC12YWx1ZQ==' });
			expect.unreachable();
		} catch (error) {
			expect((error as Error).message).toContain('MFA_ENCRYPTION_KEYS');
			expect((error as Error).message).not.toContain('dG9wLXNlY3JldC12YWx1ZQ');
		}
	});

	it('is documented: the README table lists every variable, secrets marked as file-capable', () => {
		const readme = readFileSync('README.md', 'utf8');
		const section = readme.slice(readme.indexOf('## Configuration'));
		const table = section.slice(0, section.indexOf('\n## ', 5));
		const rows = new Map(
			[...table.matchAll(/^\| `([A-Z0-9_]+)`( †)?/gm)].map((m) => [m[1]!, m[2] !== undefined])
		);
		for (const name of CONFIG_VARIABLES) expect(rows.has(name), name).toBe(true);
		for (const name of SECRET_VARIABLES) expect(rows.get(name), name).toBe(true);
	});

	it('reads only the database part for a migration job', () => {
		const dir = mkdtempSync(path.join(os.tmpdir(), 'jiss-config-'));
		const file = path.join(dir, 'owner-url');
		writeFileSync(file, 'postgres://jiss_owner:pw@db/intranet\n');
		// Production mode without any of the app's other secrets: not this job's business.
		const database = loadDatabaseConfig({ INTRANET_MODE: 'production', DATABASE_URL_FILE: file });
		expect(database).toMatchObject({
			kind: 'postgres',
			url: 'postgres://jiss_owner:pw@db/intranet',
			ownerUrl: 'postgres://jiss_owner:pw@db/intranet',
			migrateOnStart: true
		});
		expect(loadDatabaseConfig({ DATA_DIR: dir })).toEqual({
			kind: 'pglite',
			dir: path.join(dir, 'pglite'),
			migrateOnStart: true
		});
		expect(() => loadDatabaseConfig({ DATABASE_URL: 'mysql://db' })).toThrow(
			/DATABASE_URL: must be a postgres/
		);
		expect(
			loadConfig({ ...production, DATABASE_MIGRATE_ON_START: 'false' }).database
		).toMatchObject({ kind: 'postgres', migrateOnStart: false });
	});
});
