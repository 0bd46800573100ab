// Prints one plain closing line, "N passed, N failed, N skipped", after vitest's own summary, so
// that any log reader can tell how the run ended. With RESNET_STREAM_TEST_SUMMARY=FILE it also
// writes the counts and each skipped test's reason (the note of test.skip(note); null where a
// whole suite was skipped) as JSON, which CI's bare-path check reads.

import { writeFileSync } from 'node:fs';
import type { Reporter, TestModule } from 'vitest/node';

export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    const skips: { test: string; note: string | null }[] = [];
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const result = test.result();
        if (result.state === 'passed') passed++;
        else if (result.state === 'failed') failed++;
        else {
          skipped++;
          skips.push({ test: `${module.moduleId.split('/').pop()} > ${test.fullName}`, note: 'note' in result ? result.note ?? null : null });
        }
      }
      if (module.state() === 'failed' && ![...module.children.allTests()].length) failed++;
    }
    const file = process.env.RESNET_STREAM_TEST_SUMMARY;
    if (file) writeFileSync(file, JSON.stringify({ passed, failed, skipped, skips }, null, 1));
    process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
