// Node only: the report's file-system side. Reads Chart.js's UMD build from node_modules (so the page
// inlines it and opens from disk without a network), makes thumbnail data: URIs, and writes
// an output directory: analysis.json, one CSV per block and index.html, each written atomically (temp
// file, fsync, rename), so a run killed while writing them leaves the previous file or the new one,
// never a part. These three are byte-identical between runs of the same configuration, resumed or not;
// what varies (dates, durations, paths, how many batches came from the journal) goes to run.json.

import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { type AnalysisJson, analysisToJson } from '../analysis/analyze';
import { writeFileAtomic } from '../util/files-node';
import { blockCsv, blockCsvName } from './csv';
import { type ReportOptions, renderReport } from './html';

export { pngDataUri } from '../image/png';
export { thumbnail, thumbnailDataUri } from './thumbnails';

/** Chart.js's UMD bundle as text (chart.js/dist/chart.umd.js, resolved from this package's dependencies). */
export function loadChartJs(): string {
  const require = createRequire(import.meta.url);
  const main = require.resolve('chart.js'); // .../chart.js/dist/chart.cjs; the UMD build sits beside it
  return readFileSync(join(dirname(main), 'chart.umd.js'), 'utf8');
}

// A fixed temp name per file (not per process): a kill mid-write leaves one stray temp file that the
// next run overwrites and renames away, rather than one more per kill.
const writeAtomic = (path: string, text: string): Promise<void> => writeFileAtomic(path, text, join(dirname(path), `.${basename(path)}.partial`));

export interface WrittenOutputs {
  analysisJson: string;
  csv: string[];
  report: string;
  /** run.json, when run information was given. */
  runInfo?: string;
}

/** The run-information file beside analysis.json. */
export const RUN_INFO_FILE = 'run.json';

export interface WriteOutputsOptions extends ReportOptions {
  /** What varies between runs (dates, durations, paths, resumes): written to run.json, never to analysis.json. */
  runInfo?: Record<string, unknown>;
}

/**
 * Write `dir/analysis.json`, `dir/block-<b>.csv` per block and `dir/index.html` (Chart.js inlined unless
 * options.chartJs is given), and `dir/run.json` when options.runInfo is given.
 */
export async function writeAnalysisOutputs(dir: string, analysis: AnalysisJson, options: WriteOutputsOptions = {}): Promise<WrittenOutputs> {
  const { runInfo, ...reportOptions } = options;
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
  await writeAtomic(report, renderReport(analysis, { ...reportOptions, chartJs: reportOptions.chartJs ?? loadChartJs() }));
  if (!runInfo) return { analysisJson, csv, report };
  const runJson = join(dir, RUN_INFO_FILE);
  await writeAtomic(runJson, `${JSON.stringify(runInfo, null, 2)}\n`);
  return { analysisJson, csv, report, runInfo: runJson };
}
