import { paraglideVitePlugin } from '@inlang/paraglide-js';
import { sveltekit } from '@sveltejs/kit/vite';
import tailwindcss from '@tailwindcss/vite';
import { defineConfig } from 'vitest/config';

export default defineConfig({
	plugins: [
		tailwindcss(),
		sveltekit(),
		paraglideVitePlugin({
			project: './project.inlang',
			outdir: './src/lib/paraglide',
			strategy: ['cookie', 'preferredLanguage', 'baseLocale'],
			cookieName: 'locale'
		})
	],
	test: {
		include: ['src/**/*.test.ts', 'tests/integration/**/*.test.ts'],
		globalSetup: ['tests/setup/global.ts'],
		testTimeout: 60_000,
		hookTimeout: 120_000,
		pool: 'forks',
		fileParallelism: false,
		reporters: ['default', ['json', { outputFile: 'reports/vitest.json' }]]
	}
});
