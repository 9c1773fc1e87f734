import { startCheckpoints } from './audit/integrity';
import { ConfigError, loadConfig, setConfig, type Config } from './config';
import { startNotices } from './admin/notifications';
import { getDb, openDatabase, setDatabase, type DatabaseHandle } from './db';
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
	setConfig(config);
	log.level = config.logLevel;
	const database = await openDatabase(config.database, {
		migrate: config.database.migrateOnStart
	});
	setDatabase(database);
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

/** For the server's init hook: a bad configuration ends the process with a clear message. */
export async function startOrExit(): Promise<void> {
	try {
		const { database } = await start();
		const stopCheckpoints = startCheckpoints();
		const stopNotices = startNotices(getDb, getMailer);
		const stopReaper = startUploadReaper(database.db, getObjectStore());
		process.once('sveltekit:shutdown', () => {
			stopCheckpoints();
			stopNotices();
			stopReaper();
			void database.close();
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
