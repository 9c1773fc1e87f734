import { spawnSync } from 'node:child_process';

/**
 * Bundles the command-line tools (migrate.js, bootstrap.js, audit-verify.js) as the image and `npm run bootstrap`
 * do (vite.cli.config.ts), into `outDir` (default build/cli), for plain Node to run.
 */
export function buildCommands(outDir?: string): void {
	const build = spawnSync(
		process.execPath,
		[
			'node_modules/vite/bin/vite.js',
			'build',
			'--config',
			'vite.cli.config.ts',
			...(outDir ? ['--outDir', outDir] : []),
			'--logLevel',
			'error'
		],
		{ encoding: 'utf8' }
	);
	if (build.status !== 0) throw new Error(`vite build of the commands failed: ${build.stderr}`);
}
