// `npm run bootstrap -- --email <address> --name <display name> --reason <why>`: the operator's
// way in on a database nobody can sign in to yet (src/lib/server/admin/bootstrap.ts). Adds the
// default level ladder and the home organisation if they are missing and an administrator while
// fewer than two are active, or brings back a disabled one; the person gets a one-time link by
// mail. Reads the app's whole configuration (ORIGIN for the link, SMTP_URL for the mail). The
// production image carries it bundled as build/cli/bootstrap.js (vite.cli.config.ts).
import { parseArgs } from 'node:util';
import { ZodError } from 'zod';
import { bootstrap, OPERATOR_ADMINISTRATORS } from '../src/lib/server/admin/bootstrap';
import { ConfigError, loadConfig, setConfig } from '../src/lib/server/config';
import { openDatabase } from '../src/lib/server/db';
import { withDemoKeys } from '../src/lib/server/demo-keys';
import { log } from '../src/lib/server/log';
import { createMailer, setMailer } from '../src/lib/server/mail';

const REFUSALS = {
	enough_administrators: `${OPERATOR_ADMINISTRATORS} administrators are active or enrolling already: accounts are made in the app (/admin/accounts); an administrator still enrolling can be sent a new link with this command.`,
	not_an_administrator:
		'That address belongs to an account without the administrator role; an administrator changes roles in the app.',
	already_active:
		'That administrator is active already: they sign in, or another administrator resets them.'
} as const;

const STEPS = {
	levels_created: 'the default level ladder was created',
	home_organisation_created: 'the home organisation was created',
	administrator_created: 'the administrator account was created',
	administrator_enabled: 'the administrator account was enabled again',
	link_sent: 'a one-time link was mailed to the person (valid 72 hours)'
} as const;

try {
	const { values } = parseArgs({
		options: {
			email: { type: 'string' },
			name: { type: 'string' },
			reason: { type: 'string' }
		},
		strict: true
	});
	const config = withDemoKeys(loadConfig());
	setConfig(config);
	log.level = config.logLevel;
	setMailer(createMailer(config.mail));
	const handle = await openDatabase(config.database, { migrate: config.database.migrateOnStart });
	try {
		const result = await bootstrap(handle.db, {
			email: values.email ?? '',
			displayName: values.name ?? '',
			reason: values.reason ?? ''
		});
		if (result.kind === 'refused') {
			console.error(`Refused: ${REFUSALS[result.reason]}`);
			process.exitCode = 2;
		} else {
			for (const step of result.steps) console.log(`- ${STEPS[step]}`);
			console.log(`Done (account ${result.accountId}).`);
		}
	} finally {
		await handle.close();
	}
} catch (error) {
	if (error instanceof ZodError) {
		const problems = error.issues.map((i) => `--${flag(String(i.path[0]))}: ${i.message}`);
		console.error(
			`${problems.join('\n')}\nUsage: bootstrap --email <address> --name <display name> --reason <why>`
		);
	} else {
		console.error(error instanceof ConfigError ? error.message : (error as Error).message);
	}
	process.exit(1);
}

function flag(field: string): string {
	return field === 'displayName' ? 'name' : field;
}
