import { assertSigningKeyPinned, signingKeys, startCheckpoints } from './audit/integrity';
import * as background from './background';
import { ConfigError, loadConfig, setConfig, type Config } from './config';
import { startNotices } from './admin/notifications';
import { canRewriteAudit, getDb, openDatabase, setDatabase, type DatabaseHandle } from './db';
import { withDemoKeys } from './demo-keys';
import { log } from './log';
import { createMailer, getMailer, setMailer } from './mail';
import { seedDemoData } from './seed';
import { createObjectStore, getObjectStore, setObjectStore } from './storage';
import { startUploadReaper } from './vault/reaper';

export interface Started {
	config: Config;
	database: DatabaseHandle;
	seeded: boolean;
}

/** Everything the server needs before its first request: config, database, store, mail. */
export async function start(
	env: Record<string, string | undefined> = process.env
): Promise<Started> {
	const config = withDemoKeys(loadConfig(env));
	// In demo mode too: the pin is only ever set on purpose, and a checkpoint signed with a key
	// outside it stays in the store, reported as forged by every later verification.
	assertSigningKeyPinned(config);
	setConfig(config);
	log.level = config.logLevel;
	if (config.mode === 'production' && !config.auditVerifyKeys) {
		const signer = signingKeys()[0];
		log.warn(
			{ signingKey: signer && { id: signer.id, fingerprint: signer.fingerprint } },
			'AUDIT_VERIFY_KEYS is not set: audit verification derives its public keys from the ' +
				'signing seeds (AUDIT_SIGNING_KEY), so whoever holds them can also sign checkpoints ' +
				'that verify, and a signing key replaced under the same id becomes the one trusted: ' +
				'pin the public keys in AUDIT_VERIFY_KEYS (see the README, "Pinned verification keys")'
		);
	}
	const database = await openDatabase(config.database, {
		migrate: config.database.migrateOnStart
	});
	setDatabase(database);
	if (
		config.mode === 'production' &&
		database.kind === 'postgres' &&
		(await canRewriteAudit(database.db))
	) {
		log.warn(
			'the database role the app connects as can rewrite the audit log (a superuser, the ' +
				"table's owner, or UPDATE, DELETE or TRUNCATE on audit_event): connect as a role " +
				'that may only read and add events (see the README, "Database roles")'
		);
	}
	const store = await createObjectStore(config.storage);
	setObjectStore(store);
	setMailer(createMailer(config.mail));
	const seeded = config.mode === 'demo' ? await seedDemoData(database.db, store, config) : false;
	log.info(
		{
			mode: config.mode,
			database: database.kind,
			objectStore: store.kind,
			mail: config.mail.kind === 'outbox' ? `outbox ${config.mail.dir}` : 'smtp',
			seeded
		},
		'JISS Intranet started'
	);
	if (config.mail.kind === 'outbox') {
		console.log(`Demo mode: outgoing mail is written to ${config.mail.dir}`);
	}
	return { config, database, seeded };
}

/**
 * How long shutdown waits for background work under way (a lockout notice or a checkpoint
 * already started) before the database closes. Within the 10 s a container is usually given
 * between its stop signal and its end, after adapter-node has finished the requests.
 */
export const BACKGROUND_SHUTDOWN_WAIT_MS = 5_000;

/**
 * Shutdown, once adapter-node has answered the last request: the periodic jobs stop starting
 * new work, the work under way is given `waitMs` to finish (a lockout's mail, whose lockout is
 * already committed, would otherwise find the database closed), then the database closes.
 */
export async function shutDown(
	stops: (() => void)[],
	database: Pick<DatabaseHandle, 'close'>,
	waitMs = BACKGROUND_SHUTDOWN_WAIT_MS
): Promise<void> {
	for (const stop of stops) stop();
	if (!(await background.settled(waitMs))) {
		log.warn(
			{ running: background.running(), waitedMs: waitMs },
			'background work still running at shutdown; closing the database anyway'
		);
	}
	await database.close();
}

/** For the server's init hook: a bad configuration ends the process with a clear message. */
export async function startOrExit(): Promise<void> {
	try {
		const { database } = await start();
		const stopCheckpoints = startCheckpoints();
		const stopNotices = startNotices(getDb, getMailer);
		const stopReaper = startUploadReaper(database.db, getObjectStore());
		process.once('sveltekit:shutdown', () => {
			void shutDown([stopCheckpoints, stopNotices, stopReaper], database);
		});
	} catch (error) {
		if (error instanceof ConfigError) {
			console.error(error.message);
		} else {
			log.fatal({ err: error }, 'the intranet could not start');
			console.error(error instanceof Error ? error.message : String(error));
		}
		process.exit(1);
	}
}
