// `npm run db:migrate`: applies the committed migrations to DATABASE_OWNER_URL / DATABASE_URL,
// or to the embedded database in DATA_DIR (refused while the app holds it). Reads only the
// database variables, so a migration job needs no other secret. The production image carries
// it bundled as build/cli/migrate.js (vite.cli.config.ts).
import { ConfigError, loadDatabaseConfig } from '../src/lib/server/config';
import { openDatabase } from '../src/lib/server/db';

try {
	const database = loadDatabaseConfig();
	const handle = await openDatabase(database, { migrate: true });
	await handle.close();
	console.log(`Migrations applied (${database.kind}).`);
} catch (error) {
	console.error(error instanceof ConfigError ? error.message : (error as Error).message);
	process.exit(1);
}
