// `npm run bench`: runs every tests/bench/*.bench.* file in turn, each printing its own figures.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const only = process.argv[2];
const files = readdirSync(here)
	.filter((name) => /\.bench\.(ts|js|mjs)$/.test(name))
	.filter((name) => !only || name.includes(only))
	.sort();
let failed = 0;
for (const name of files) {
	console.log(`\n=== ${name} ===`);
	const result = spawnSync(process.execPath, ['--import', 'tsx', path.join(here, name)], {
		stdio: 'inherit',
		env: process.env
	});
	if (result.status !== 0) failed++;
}
process.exit(failed > 0 ? 1 : 0);
