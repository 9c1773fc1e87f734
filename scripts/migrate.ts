// `npm run db:migrate`: applies the committed migrations to DATABASE_OWNER_URL / DATABASE_URL,
// or to the embedded database in DATA_DIR (refused while the app holds it).
import { ConfigError, loadConfig } from '../src/lib/server/config';
import { openDatabase } from '../src/lib/server/db';

try {
	const config = loadConfig();
	const handle = await openDatabase(config.database, { migrate: true });
	await handle.close();
	console.log(`Migrations applied (${config.database.kind}).`);
} catch (error) {
	console.error(error instanceof ConfigError ? error.message : (error as Error).message);
	process.exit(1);
}
