import { existsSync } from 'node:fs';
import { defineConfig, devices } from '@playwright/test';
import { freePort } from './tests/helpers/ports';

// Workers load this file again: the port chosen by the main process is passed on through env.
process.env.E2E_PORT ??= String(await freePort());
const port = Number(process.env.E2E_PORT);

// Debian's Chromium when present (this machine cannot download Playwright's own browser);
// elsewhere Playwright's bundled browser.
const chromiumPath =
	process.env.CHROMIUM_PATH ?? (existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined);

export default defineConfig({
	testDir: 'tests/e2e',
	fullyParallel: false,
	workers: 1,
	retries: 0,
	forbidOnly: true,
	timeout: 60_000,
	reporter: [['list'], ['json', { outputFile: 'reports/playwright.json' }]],
	use: {
		baseURL: `http://127.0.0.1:${port}`,
		trace: 'retain-on-failure',
		locale: 'en-GB'
	},
	projects: [
		{
			name: 'chromium',
			use: {
				...devices['Desktop Chrome'],
				launchOptions: chromiumPath
					? {
							executablePath: chromiumPath,
							args: [
								'--no-sandbox',
								'--disable-gpu',
								'--disable-background-networking',
								'--disable-component-update',
								'--disable-sync',
								'--disable-quic',
								'--no-first-run'
							]
						}
					: {}
			}
		}
	],
	webServer: {
		command: `node tests/e2e/serve.js`,
		url: `http://127.0.0.1:${port}/readyz`,
		timeout: 120_000,
		reuseExistingServer: false,
		stdout: 'ignore',
		stderr: 'pipe',
		env: { PORT: String(port), HOST: '127.0.0.1' },
		// SIGTERM, not Playwright's default SIGKILL: serve.js then stops the app and drops the
		// run's database and data folder, which a killed process left behind.
		gracefulShutdown: { signal: 'SIGTERM', timeout: 15_000 }
	}
});
