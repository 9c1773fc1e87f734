import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildCommands } from '../../../../tests/helpers/cli';
import { loadConfig, setConfig } from '../config';
import { openDatabase, setDatabase } from '../db';
import { withDemoKeys } from '../demo-keys';
import { createObjectStore, setObjectStore } from '../storage';
import { appendAuditEvents } from './append';
import { lastCheckpointRecorded } from './checkpoint';
import { startCheckpoints } from './integrity';
import { loadSigningKey } from './signing';

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'jiss-audit-cli-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

// The CLI opens the database itself: an embedded one in a folder is what it meets on a laptop.
// It runs bundled, as the production image runs it (build/cli/audit-verify.js, no tsx there),
// into a folder of this test's own inside the repository (its dependencies stay external).
const env = { DATA_DIR: dataDir, LOG_LEVEL: 'silent' };
const cliDir = path.resolve('tests/.tmp', `cli-audit-${process.pid}`);
beforeAll(() => buildCommands(cliDir));
afterAll(() => rmSync(cliDir, { recursive: true, force: true }));
const cliWith = (extra: Record<string, string>, ...args: string[]) =>
	spawnSync(process.execPath, [path.join(cliDir, 'audit-verify.js'), ...args], {
		env: { ...process.env, ...env, DATABASE_URL: '', INTRANET_MODE: '', ...extra },
		encoding: 'utf8'
	});
const cli = (...args: string[]) => cliWith({}, ...args);

async function withDatabase<T>(work: (db: Awaited<ReturnType<typeof openDatabase>>) => Promise<T>) {
	const config = withDemoKeys(loadConfig(env));
	const handle = await openDatabase(config.database, { migrate: true });
	try {
		return await work(handle);
	} finally {
		await handle.close();
	}
}

describe('checkpoints and npm run audit:verify on the embedded defaults', () => {
	it('writes periodic checkpoints, then the CLI passes an intact log and fails a tampered one', async () => {
		await withDatabase(async (handle) => {
			const config = withDemoKeys(loadConfig({ ...env, AUDIT_CHECKPOINT_EVERY: '3' }));
			setConfig(config);
			setDatabase(handle);
			setObjectStore(await createObjectStore(config.storage));
			for (let i = 0; i < 4; i++) {
				await appendAuditEvents(handle.db, [{ action: 'document.search', outcome: 'allowed' }]);
			}
			const stop = startCheckpoints(20);
			try {
				await vi.waitFor(
					async () => expect(await lastCheckpointRecorded(handle.db)).not.toBeNull(),
					{
						timeout: 30_000,
						interval: 50
					}
				);
			} finally {
				stop();
				setDatabase(undefined);
			}
			expect((await lastCheckpointRecorded(handle.db))?.seq).toBe(4);
		});

		const intact = cli('--checkpoint');
		expect(intact.stdout).toContain('Checkpoint written at event 5.');
		expect(intact.stdout).toContain('The audit log is intact.');
		expect(intact.status).toBe(0);

		// With the public key pinned (AUDIT_VERIFY_KEYS), the same log passes; pinned to another
		// key under the same id (the signing key swapped), every checkpoint is named.
		const seed = withDemoKeys(loadConfig(env)).auditSigningKeys![0]!;
		const demo = loadSigningKey(seed);
		const pinned = cliWith({ AUDIT_VERIFY_KEYS: `demo:${demo.publicKeyBase64}` });
		expect(pinned.stdout).toContain('The audit log is intact.');
		expect(pinned.status).toBe(0);
		const other = loadSigningKey({ id: 'demo', key: randomBytes(32) });
		const swapped = cliWith({ AUDIT_VERIFY_KEYS: `demo:${other.publicKeyBase64}` });
		expect(swapped.stdout).toContain('[checkpoint_forged]');
		expect(swapped.status).toBe(1);

		// Each run names the keys it verified with and where they came from, never a seed.
		expect(intact.stdout).toContain(
			'Verified with public keys derived from the signing seeds (AUDIT_SIGNING_KEY'
		);
		expect(intact.stdout).toContain(`  demo  SHA-256 ${demo.fingerprint}\n`);
		expect(pinned.stdout).toContain('Verified with the public keys pinned in AUDIT_VERIFY_KEYS:');
		expect(pinned.stdout).toContain(`  demo  SHA-256 ${demo.fingerprint}\n`);
		expect(swapped.stdout).toContain(`  demo  SHA-256 ${other.fingerprint}\n`);
		const json = cliWith({ AUDIT_VERIFY_KEYS: `demo:${demo.publicKeyBase64}` }, '--json');
		expect(JSON.parse(json.stdout)).toMatchObject({
			ok: true,
			verifiedWith: {
				source: 'pinned',
				keys: [
					{
						id: 'demo',
						publicKey: demo.publicKeyBase64,
						fingerprint: demo.fingerprint,
						signsNew: true
					}
				]
			}
		});
		// Signing with a key outside the pin is refused before anything is written: the
		// checkpoint would only ever be reported as forged.
		const refused = cliWith({ AUDIT_VERIFY_KEYS: `demo:${other.publicKeyBase64}` }, '--checkpoint');
		expect(refused.status).toBe(2);
		expect(refused.stdout).toBe('');
		expect(refused.stderr).toContain(
			`AUDIT_VERIFY_KEYS: pins another key under the id demo (fingerprint ${other.fingerprint}) ` +
				`than the one that signs new checkpoints (fingerprint ${demo.fingerprint})`
		);
		for (const run of [intact, pinned, swapped, json, refused]) {
			for (const secret of [seed.key.toString('base64'), seed.key.toString('hex')]) {
				expect(run.stdout + run.stderr).not.toContain(secret);
			}
		}
		await withDatabase(async ({ db }) => {
			expect((await lastCheckpointRecorded(db))?.seq).toBe(5);
		});

		await withDatabase(async ({ db }) => {
			await db.transaction(async (tx) => {
				await tx.execute(sql`set local session_replication_role = replica`);
				await tx.execute(sql`update audit_event set outcome = 'denied' where seq = 2`);
			});
		});
		const tampered = cli();
		expect(tampered.stdout).toContain('FAILED at event 2');
		expect(tampered.stdout).toContain('[altered_event]');
		expect(tampered.status).toBe(1);
	});
});
