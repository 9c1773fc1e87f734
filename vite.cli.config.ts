import path from 'node:path';
import { defineConfig } from 'vite';

// The command-line tools the production image needs, bundled for Node without the dev tools
// (tsx): `vite build --config vite.cli.config.ts` writes build/cli/migrate.js (the migration
// job), build/cli/bootstrap.js (the operator's first administrator, scripts/bootstrap.ts) and
// build/cli/audit-verify.js (an auditor's or operator's check of the log, scripts/audit-verify.ts).
// Dependencies stay external and come from the image's production node_modules.
export default defineConfig({
	resolve: { alias: { $lib: path.resolve('src/lib') } },
	build: {
		ssr: true,
		outDir: 'build/cli',
		emptyOutDir: false,
		target: 'node22',
		rollupOptions: {
			input: {
				migrate: 'scripts/migrate.ts',
				bootstrap: 'scripts/bootstrap.ts',
				'audit-verify': 'scripts/audit-verify.ts'
			},
			output: { entryFileNames: '[name].js', chunkFileNames: 'chunks/[name]-[hash].js' }
		}
	}
});
