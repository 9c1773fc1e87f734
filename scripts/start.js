// `npm start`: builds the app once if there is no build yet, then runs it (port 3000 unless
// PORT is set). The server migrates the database and, in demo mode, seeds it on first start.
import { spawnSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

if (!existsSync('build/index.js')) {
	console.log('No build found: building the intranet once (this takes a minute)…');
	const build = spawnSync('npm', ['run', 'build'], { stdio: 'inherit', shell: false });
	if (build.status !== 0) process.exit(build.status ?? 1);
}

const server = spawn(process.execPath, ['server.js'], {
	stdio: 'inherit',
	env: {
		BODY_SIZE_LIMIT: 'Infinity',
		// adapter-node assumes https without ORIGIN; on a laptop the app is plain http.
		ORIGIN: `http://localhost:${process.env.PORT ?? 3000}`,
		...process.env
	}
});
for (const signal of ['SIGINT', 'SIGTERM']) {
	process.on(signal, () => server.kill(signal));
}
server.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
