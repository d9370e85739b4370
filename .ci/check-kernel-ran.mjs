// Reads vitest's JSON report and fails when a kernel or e2e test was skipped (or none ran)
// while CI=true: those suites may skip only on a developer machine without root.
import { readFileSync } from 'node:fs';

const report = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const kernelFile = (name) => /\/test\/(kernel|e2e)\//.test(name);
let passed = 0;
const skipped = [];
for (const file of report.testResults) {
  if (!kernelFile(file.name)) continue;
  for (const t of file.assertionResults) {
    if (t.status === 'passed') passed++;
    else if (t.status === 'skipped' || t.status === 'pending' || t.status === 'todo')
      skipped.push(`${file.name}: ${t.fullName}`);
  }
}
console.log(`kernel suites: ${passed} passed, ${skipped.length} skipped`);
const skippedAll = report.numPendingTests + (report.numTodoTests ?? 0);
console.log(`tests: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${skippedAll} skipped`);
if (process.env.CI === 'true' && (skipped.length > 0 || passed === 0)) {
  console.error(`CI=true but kernel tests did not all run:\n${skipped.join('\n')}`);
  process.exit(1);
}
