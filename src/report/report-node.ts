// Node only: the report's file-system side. Reads Chart.js's UMD build from node_modules (so the page
// inlines it and opens from disk without a network), makes thumbnail data: URIs, and writes
// an output directory: analysis.json, one CSV per block and index.html, each written atomically.

import { readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { type AnalysisJson, analysisToJson } from '../analysis/analyze';
import { blockCsv, blockCsvName } from './csv';
import { type ReportOptions, renderReport } from './html';

export { pngDataUri } from './png';
export { thumbnail, thumbnailDataUri } from './thumbnails';

/** Chart.js's UMD bundle as text (chart.js/dist/chart.umd.js, resolved from this package's dependencies). */
export function loadChartJs(): string {
  const require = createRequire(import.meta.url);
  const main = require.resolve('chart.js'); // .../chart.js/dist/chart.cjs; the UMD build sits beside it
  return readFileSync(join(dirname(main), 'chart.umd.js'), 'utf8');
}

async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

export interface WrittenOutputs {
  analysisJson: string;
  csv: string[];
  report: string;
}

/**
 * Write `dir/analysis.json`, `dir/block-<b>.csv` per block and `dir/index.html` (Chart.js inlined unless
 * options.chartJs is given).
 */
export async function writeAnalysisOutputs(dir: string, analysis: AnalysisJson, options: ReportOptions = {}): Promise<WrittenOutputs> {
  await mkdir(dir, { recursive: true });
  const analysisJson = join(dir, 'analysis.json');
  await writeAtomic(analysisJson, analysisToJson(analysis));
  const csv: string[] = [];
  for (const block of analysis.blocks) {
    const path = join(dir, blockCsvName(block.block));
    await writeAtomic(path, blockCsv(block));
    csv.push(path);
  }
  const report = join(dir, 'index.html');
  await writeAtomic(report, renderReport(analysis, { ...options, chartJs: options.chartJs ?? loadChartJs() }));
  return { analysisJson, csv, report };
}
