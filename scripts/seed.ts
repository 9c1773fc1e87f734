// `npm run seed`: seeds the demo data set into an empty database (demo mode only).
import { ConfigError, loadConfig } from '../src/lib/server/config';
import { openDatabase } from '../src/lib/server/db';
import { withDemoKeys } from '../src/lib/server/demo-keys';
import { seedDemoData } from '../src/lib/server/seed';
import { createObjectStore } from '../src/lib/server/storage';

try {
	const config = withDemoKeys(loadConfig());
	if (config.mode !== 'demo') {
		console.error('Refusing to seed demo data: INTRANET_MODE is production.');
		process.exit(1);
	}
	const handle = await openDatabase(config.database, { migrate: true });
	try {
		const store = await createObjectStore(config.storage);
		const seeded = await seedDemoData(handle.db, store, config);
		console.log(seeded ? 'Demo data seeded.' : 'The database already holds data: nothing seeded.');
	} finally {
		await handle.close();
	}
} catch (error) {
	console.error(error instanceof ConfigError ? error.message : (error as Error).message);
	process.exit(1);
}
