import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { freePort } from '../../helpers/ports';

/** Starts the built server with exactly this environment and waits for it to exit. */
async function runServer(env: Record<string, string>) {
	const dataDir = mkdtempSync(path.join(os.tmpdir(), 'jiss-startup-'));
	try {
		const child = spawn(process.execPath, ['server.js'], {
			env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, PORT: '0', ...env },
			stdio: ['ignore', 'pipe', 'pipe']
		});
		let output = '';
		child.stdout.on('data', (chunk) => (output += chunk));
		child.stderr.on('data', (chunk) => (output += chunk));
		const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
		return { code, output };
	} finally {
		rmSync(dataDir, { recursive: true, force: true });
	}
}

test('a half-given configuration stops the server with a message naming the variable', async () => {
	const { code, output } = await runServer({
		INTRANET_MODE: 'demo',
		S3_BUCKET: 'jiss-documents',
		S3_ACCESS_KEY_ID: 'only-half'
	});
	expect(code).toBe(1);
	expect(output).toContain('Invalid configuration');
	expect(output).toMatch(/S3_SECRET_ACCESS_KEY: S3 credentials must be given as a pair/);
	expect(output).not.toMatch(/\n\s+at /);
});

test('production without its secrets stops the server and names each missing one', async () => {
	const { code, output } = await runServer({
		INTRANET_MODE: 'production',
		DATABASE_URL: 'postgres://app@127.0.0.1:1/jiss'
	});
	expect(code).toBe(1);
	for (const variable of ['S3_BUCKET', 'SMTP_URL', 'MFA_ENCRYPTION_KEYS', 'AUDIT_SIGNING_KEY']) {
		expect(output).toContain(`${variable}: required`);
	}
});

test('an unreachable database at start stops the server without revealing its password', async () => {
	const port = await freePort();
	const { code, output } = await runServer({
		INTRANET_MODE: 'demo',
		DATABASE_URL: `postgres://jiss_app:hunter2-not-for-logs@127.0.0.1:${port}/intranet`,
		LOG_LEVEL: 'info'
	});
	expect(code).toBe(1);
	expect(output).toContain('ECONNREFUSED');
	expect(output).not.toContain('hunter2-not-for-logs');
});
