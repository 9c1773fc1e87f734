import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from './config';

interface StoredKeys {
	mfa: string;
	audit: string;
}

/**
 * Demo mode only: keys that production must be given are generated once and kept in the data
 * folder, so that a laptop run needs no configuration and survives restarts.
 */
export function withDemoKeys(config: Config): Config {
	if (config.mode !== 'demo') return config;
	if (config.mfaEncryptionKeys && config.auditSigningKeys) return config;
	const file = path.join(config.dataDir, 'demo-keys.json');
	let stored: StoredKeys;
	try {
		stored = JSON.parse(readFileSync(file, 'utf8')) as StoredKeys;
	} catch {
		stored = {
			mfa: randomBytes(32).toString('base64'),
			audit: randomBytes(32).toString('base64')
		};
		mkdirSync(config.dataDir, { recursive: true });
		writeFileSync(file, JSON.stringify(stored), { mode: 0o600, flag: 'wx' });
	}
	return {
		...config,
		mfaEncryptionKeys: config.mfaEncryptionKeys ?? [
			{ id: 'demo', key: Buffer.from(stored.mfa, 'base64') }
		],
		auditSigningKeys: config.auditSigningKeys ?? [
			{ id: 'demo', key: Buffer.from(stored.audit, 'base64') }
		]
	};
}
