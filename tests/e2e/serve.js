// Starts the built app for Playwright with its own fresh data folder and, when DATABASE_URL
// points at a PostgreSQL server, its own fresh database (dropped again on exit).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import postgres from 'postgres';

const dataDir = path.resolve('tests/.tmp', `e2e-${randomBytes(4).toString('hex')}`);
mkdirSync(dataDir, { recursive: true });
/** @type {NodeJS.ProcessEnv} */
const env = {
	...process.env,
	DATA_DIR: dataDir,
	INTRANET_MODE: 'demo',
	LOG_LEVEL: 'warn',
	// As scripts/start.js: upload routes stream without adapter-node's limit; the app's
	// body-limit handle caps every other route.
	BODY_SIZE_LIMIT: 'Infinity',
	// adapter-node assumes https without ORIGIN, and the CSRF origin check would then fail.
	ORIGIN: `http://127.0.0.1:${process.env.PORT}`
};

let dropDatabase = async () => {};
const adminUrl = process.env.DATABASE_URL;
if (adminUrl) {
	const name = `jiss_e2e_${randomBytes(4).toString('hex')}`;
	const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
	await admin.unsafe(`create database ${name}`);
	await admin.end();
	const url = new URL(adminUrl);
	url.pathname = `/${name}`;
	env.DATABASE_URL = url.toString();
	dropDatabase = async () => {
		const dropper = postgres(adminUrl, { max: 1, onnotice: () => {} });
		await dropper.unsafe(`drop database if exists ${name} with (force)`);
		await dropper.end();
	};
}

const server = spawn(process.execPath, ['server.js'], { stdio: 'inherit', env });
let stopping = false;
/** @param {number} code */
async function stop(code) {
	if (stopping) return;
	stopping = true;
	if (server.exitCode === null && server.signalCode === null) {
		server.kill('SIGTERM');
		await new Promise((resolve) => server.once('exit', resolve));
	}
	await dropDatabase().catch(() => {});
	rmSync(dataDir, { recursive: true, force: true });
	process.exit(code);
}
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => void stop(0));
server.on('exit', (code) => {
	if (!stopping) void stop(code ?? 1);
});
