import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateTOTP } from '@oslojs/otp';
import { desc, eq } from 'drizzle-orm';
import { encryptSecret } from '../../src/lib/server/auth/encryption';
import { hashPassword } from '../../src/lib/server/auth/password';
import { loadConfig, setConfig, type Config, type Environment } from '../../src/lib/server/config';
import { setDatabase, type Database } from '../../src/lib/server/db';
import { account, auditEvent, organisation, type Role } from '../../src/lib/server/db/schema';
import { log } from '../../src/lib/server/log';
import { createOutboxMailer, setMailer } from '../../src/lib/server/mail';
import { createTestDatabase, type TestDatabase } from './database';

/**
 * A real database (PGlite or a fresh PostgreSQL database), the process-wide config and an
 * outbox mailer, as the server's init hook would set them up, for the auth domain tests.
 */
export interface AuthFixture {
	database: TestDatabase;
	db: Database;
	config: Config;
	dataDir: string;
	organisationId: number;
	close(): Promise<void>;
}

export async function createAuthFixture(env: Environment = {}): Promise<AuthFixture> {
	const dataDir = mkdtempSync(path.join(os.tmpdir(), 'jiss-auth-'));
	const config = loadConfig({
		DATA_DIR: dataDir,
		LOG_LEVEL: 'silent',
		ORIGIN: 'http://127.0.0.1:5173',
		MFA_ENCRYPTION_KEYS: `test:${randomBytes(32).toString('base64')}`,
		...env
	});
	setConfig(config);
	log.level = config.logLevel;
	const database = await createTestDatabase();
	setDatabase(database.handle);
	setMailer(createOutboxMailer(path.join(dataDir, 'outbox'), config.mail.from));
	const [org] = await database.handle.db
		.insert(organisation)
		.values({ code: 'JISS', nameEn: 'JISS', nameJa: 'JISS', isHome: true })
		.returning();
	return {
		database,
		db: database.handle.db,
		config,
		dataDir,
		organisationId: org!.id,
		async close() {
			setDatabase(undefined);
			await database.drop();
			rmSync(dataDir, { recursive: true, force: true });
		}
	};
}

export interface TestAccount {
	id: number;
	email: string;
	password: string;
	totpSecret: Uint8Array | null;
}

let counter = 0;

export async function createAccount(
	fixture: AuthFixture,
	options: {
		roles?: Role[];
		status?: 'pending' | 'active' | 'disabled';
		password?: string;
		totp?: boolean;
		email?: string;
	} = {}
): Promise<TestAccount> {
	counter += 1;
	const email = options.email ?? `person${counter}-${randomBytes(3).toString('hex')}@jiss.example`;
	const password = options.password ?? `correct horse ${counter} battery staple`;
	const totpSecret = options.totp === false ? null : new Uint8Array(randomBytes(20));
	const sealed = totpSecret
		? encryptSecret({ keys: fixture.config.mfaEncryptionKeys! }, totpSecret)
		: null;
	const [row] = await fixture.db
		.insert(account)
		.values({
			email,
			displayName: `Person ${counter}`,
			organisationId: fixture.organisationId,
			roles: options.roles ?? ['staff'],
			status: options.status ?? 'active',
			passwordHash: await hashPassword(password),
			totpSecret: sealed?.value ?? null,
			totpKeyId: sealed?.keyId ?? null
		})
		.returning({ id: account.id });
	return { id: row!.id, email, password, totpSecret };
}

export function currentCode(secret: Uint8Array): string {
	return generateTOTP(secret, 30, 6);
}

export async function lastAuditEvents(db: Database, n = 1) {
	return db.select().from(auditEvent).orderBy(desc(auditEvent.seq)).limit(n);
}

export async function auditFor(db: Database, accountId: number) {
	return db
		.select()
		.from(auditEvent)
		.where(eq(auditEvent.targetId, String(accountId)))
		.orderBy(auditEvent.seq);
}
