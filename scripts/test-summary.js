// Prints the test run's totals as one plain line ("tests: N passed, N failed, N skipped") from the JSON
// report vitest writes beside its console output (vitest.config.ts), for CI logs and tooling.
import { existsSync, readFileSync } from 'node:fs';

const path = 'node_modules/.cache/fleetgate/vitest-report.json';
if (!existsSync(path)) {
  console.log('tests: 0 passed, 0 failed');
  process.exit(1);
}
const report = JSON.parse(readFileSync(path, 'utf8'));
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
console.log(`tests: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${skipped} skipped`);
