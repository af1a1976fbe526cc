// A jest reporter: one line per test file whose tests were skipped for a
// missing system tool (see test/tools.ts), and a total at the end, which CI
// reads (it must be 0 there). Plain JavaScript: jest loads reporters untransformed.
const { relative } = require('node:path');

const MARK = /\[skipped: (.*)\]$/;

class ToolSkipsReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
    this.total = 0;
  }

  onTestResult(_test, result) {
    const reasons = new Map();
    for (const r of result.testResults) {
      if (r.status !== 'pending') continue;
      const m = [r.title, ...r.ancestorTitles].map((t) => MARK.exec(t)).find(Boolean);
      if (m) reasons.set(m[1], (reasons.get(m[1]) ?? 0) + 1);
    }
    if (reasons.size === 0) return;
    // One line per file, whatever mix of tools its tests need.
    const count = [...reasons.values()].reduce((a, b) => a + b, 0);
    this.total += count;
    process.stderr.write(`${relative(this.rootDir, result.testFilePath)}: skipped ${count} test${count === 1 ? '' : 's'}: ${[...reasons.keys()].join('; ')}\n`);
  }

  onRunComplete() {
    process.stderr.write(`tests skipped for missing tools: ${this.total}\n`);
  }
}

module.exports = ToolSkipsReporter;
