// CI refuses a green run that skipped tests: reads the Vitest and Playwright JSON reports.
import { readFileSync } from 'node:fs';

let problems = 0;
const vitest = JSON.parse(readFileSync('reports/vitest.json', 'utf8'));
for (const file of vitest.testResults ?? []) {
	for (const test of file.assertionResults ?? []) {
		if (test.status !== 'passed' && test.status !== 'failed') {
			console.error(`Vitest ${test.status}: ${file.name} › ${test.fullName}`);
			problems++;
		}
	}
}
if ((vitest.numTotalTests ?? 0) === 0) {
	console.error('Vitest ran no test');
	problems++;
}

const playwright = JSON.parse(readFileSync('reports/playwright.json', 'utf8'));
const skipped = playwright.stats?.skipped ?? 0;
if (skipped > 0) {
	console.error(`Playwright skipped ${skipped} test(s)`);
	problems++;
}
if ((playwright.stats?.expected ?? 0) === 0) {
	console.error('Playwright ran no test');
	problems++;
}

if (problems > 0) process.exit(1);
console.log(
	`No skipped tests: ${vitest.numPassedTests} Vitest and ${playwright.stats.expected} Playwright tests passed.`
);
