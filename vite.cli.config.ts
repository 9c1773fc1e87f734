import { defineConfig } from 'vite';

// The command-line tools the production image needs, bundled for Node without the dev tools
// (tsx): `vite build --config vite.cli.config.ts` writes build/cli/migrate.js. Dependencies stay
// external and come from the image's production node_modules.
export default defineConfig({
	build: {
		ssr: 'scripts/migrate.ts',
		outDir: 'build/cli',
		emptyOutDir: false,
		target: 'node22',
		rollupOptions: { output: { entryFileNames: 'migrate.js' } }
	}
});
