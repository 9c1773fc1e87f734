// `npm run audit:verify`: checks the whole audit log against its hash chain and the signed
// checkpoints; exits 1 when anything fails. `-- --checkpoint` first writes a checkpoint, `--json`
// prints the report as JSON. Either way it names the keys it verified with and where they came
// from (pinned in AUDIT_VERIFY_KEYS, or derived from the signing seeds), public halves only.
import { verifyChain } from '../src/lib/server/audit/verify';
import { writeCheckpoint } from '../src/lib/server/audit/checkpoint';
import { assertSigningKeyPinned } from '../src/lib/server/audit/integrity';
import { describeKeys, loadPublicKey, loadSigningKey } from '../src/lib/server/audit/signing';
import { ConfigError, loadConfig } from '../src/lib/server/config';
import { openDatabase } from '../src/lib/server/db';
import { withDemoKeys } from '../src/lib/server/demo-keys';
import { createObjectStore } from '../src/lib/server/storage';

const args = new Set(process.argv.slice(2));
let exitCode = 0;
try {
	const config = withDemoKeys(loadConfig());
	const keys = (config.auditSigningKeys ?? []).map(loadSigningKey);
	// Verification with the public keys pinned in AUDIT_VERIFY_KEYS when they are given: the
	// auditor's machine then needs no signing seed (and cannot sign), and checkpoints signed
	// by a key swapped in under the same id fail.
	const verifyKeys = config.auditVerifyKeys?.map(loadPublicKey) ?? keys;
	if (verifyKeys.length === 0)
		throw new Error('No audit key is configured (AUDIT_VERIFY_KEYS or AUDIT_SIGNING_KEY).');
	if (args.has('--checkpoint') && keys.length === 0)
		throw new Error('Writing a checkpoint needs the signing key (AUDIT_SIGNING_KEY).');
	// Verifying alone with a signing key outside the pin is what finds a swapped key; signing
	// with it would only store a checkpoint that fails.
	if (args.has('--checkpoint')) assertSigningKeyPinned(config);
	const verifiedWith = {
		source: config.auditVerifyKeys ? ('pinned' as const) : ('signing' as const),
		keys: describeKeys(verifyKeys, keys[0])
	};
	const handle = await openDatabase(config.database);
	try {
		const store = await createObjectStore(config.storage);
		if (args.has('--checkpoint')) {
			const written = await writeCheckpoint(handle.db, store, keys);
			console.log(
				written ? `Checkpoint written at event ${written.checkpoint.seq}.` : 'The log is empty.'
			);
		}
		const report = await verifyChain({ db: handle.db, store, keys: verifyKeys });
		if (args.has('--json')) {
			console.log(JSON.stringify({ ...report, verifiedWith }, null, 2));
		} else {
			console.log(
				`${report.events} events, head ${report.headSeq} (${report.headHash.slice(0, 16)}…), ` +
					`${report.checkpoints} valid checkpoints, ${report.durationMs} ms`
			);
			console.log(
				verifiedWith.source === 'pinned'
					? 'Verified with the public keys pinned in AUDIT_VERIFY_KEYS:'
					: 'Verified with public keys derived from the signing seeds (AUDIT_SIGNING_KEY; ' +
							'pin them in AUDIT_VERIFY_KEYS to verify without the seeds):'
			);
			for (const k of verifiedWith.keys) console.log(`  ${k.id}  SHA-256 ${k.fingerprint}`);
			if (report.ok) console.log('The audit log is intact.');
			else {
				console.log(
					`FAILED at event ${report.firstFailure?.seq ?? '?'}: ${report.firstFailure?.message}`
				);
				for (const p of report.problems) console.log(`  - [${p.kind}] ${p.message}`);
				if (report.truncated) console.log('  … more problems were found than are listed');
			}
		}
		if (!report.ok) exitCode = 1;
	} finally {
		await handle.close();
	}
} catch (error) {
	console.error(error instanceof ConfigError ? error.message : (error as Error).message);
	exitCode = 2;
}
process.exit(exitCode);
