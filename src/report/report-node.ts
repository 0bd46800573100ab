// Node only: the report's file-system side. Reads Chart.js's UMD build from node_modules (so the page
// inlines it and opens from disk without a network), makes thumbnail data: URIs, and writes
// an output directory: analysis.json, one CSV per block and index.html, each written atomically (temp
// file, fsync, rename), so a run killed while writing them leaves the previous file or the new one,
// never a part. These three are byte-identical between runs of the same configuration, resumed or not;
// what varies (dates, durations, paths, how many batches came from the journal) goes to run.json.

import { readFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { type AnalysisJson, analysisToJson } from '../analysis/analyze';
import { writeFileAtomic } from '../util/files-node';
import type { BlockDetails } from '../analysis/details';
import type { RgbImage } from '../image/image';
import { encodePng } from '../image/png';
import { blockCsv, blockCsvName } from './csv';
import { type ReportOptions, renderReport } from './html';
import { SITE_DIR, renderSite, siteImages, thumbnailFileNames } from './site';
import { thumbnail } from './thumbnails';

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
  /** The channel site's folder (DIR/site), when a site was asked for. */
  site?: string;
}

/** What the channel site (DIR/site) is made of beyond analysis.json. */
export interface SiteInput {
  /** Per block, the readouts on each probe image and the tuning curves (the runs' onBlockDetails). */
  details?: readonly BlockDetails[];
  /** A probe image as the network saw it, for its thumbnail (written once, site/img/); dataset probes. */
  image?: (name: string) => RgbImage | undefined;
  /** Probe names are files relative to the analysis folder (fv probes: probes/<block>/<readout>/<c>.png), shown as they are. */
  probeFiles?: boolean;
}

/** The run-information file beside analysis.json. */
export const RUN_INFO_FILE = 'run.json';

export interface WriteOutputsOptions extends ReportOptions {
  /** What varies between runs (dates, durations, paths, resumes): written to run.json, never to analysis.json. */
  runInfo?: Record<string, unknown>;
  /** Also write the channel site, DIR/site/ (a page per block and channel), and link it from index.html. */
  site?: SiteInput;
}

/** Thumbnails' side in the site, pixels. */
const SITE_THUMBNAIL = 64;

/**
 * Write the channel site into `dir/site`: built in `dir/.site.partial` and renamed into place, so a kill
 * leaves the old site or the new one. Deterministic: the same analysis and images give the same bytes.
 */
export async function writeSite(dir: string, analysis: AnalysisJson, input: SiteInput): Promise<string> {
  const target = join(dir, SITE_DIR);
  const partial = join(dir, `.${SITE_DIR}.partial`);
  await rm(partial, { recursive: true, force: true });
  const images = new Map<string, string>();
  const thumbnails: [string, RgbImage][] = [];
  if (input.probeFiles) {
    for (const name of siteImages(analysis)) images.set(name, `../${name.split(/[\\/]/).map(encodeURIComponent).join('/')}`);
  } else if (input.image) {
    const names = siteImages(analysis);
    const files = thumbnailFileNames(names);
    for (const name of names) {
      const rgb = input.image(name);
      if (!rgb) continue;
      images.set(name, files.get(name) as string);
      thumbnails.push([files.get(name) as string, rgb]);
    }
  }
  const details = new Map((input.details ?? []).map((d) => [d.block, d]));
  const files = renderSite(analysis, { details, imagePath: (name) => images.get(name) });
  const write = async (path: string, data: string | Uint8Array) => {
    const file = join(partial, ...path.split('/'));
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, data);
  };
  for (const f of files) await write(f.path, f.text);
  for (const [path, rgb] of thumbnails) await write(path, encodePng(thumbnail(rgb, SITE_THUMBNAIL)));
  await rm(target, { recursive: true, force: true });
  await rename(partial, target);
  return target;
}

/**
 * Write `dir/analysis.json`, `dir/block-<b>.csv` per block and `dir/index.html` (Chart.js inlined unless
 * options.chartJs is given), and `dir/run.json` when options.runInfo is given.
 */
export async function writeAnalysisOutputs(dir: string, analysis: AnalysisJson, options: WriteOutputsOptions = {}): Promise<WrittenOutputs> {
  const { runInfo, site, ...reportOptions } = options;
  await mkdir(dir, { recursive: true });
  const analysisJson = join(dir, 'analysis.json');
  await writeAtomic(analysisJson, analysisToJson(analysis));
  const csv: string[] = [];
  for (const block of analysis.blocks) {
    const path = join(dir, blockCsvName(block.block));
    await writeAtomic(path, blockCsv(block));
    csv.push(path);
  }
  const sitePath = site ? await writeSite(dir, analysis, site) : undefined;
  const report = join(dir, 'index.html');
  await writeAtomic(report, renderReport(analysis, { ...reportOptions, chartJs: reportOptions.chartJs ?? loadChartJs(), siteLinks: reportOptions.siteLinks ?? !!site }));
  const written: WrittenOutputs = { analysisJson, csv, report, ...(sitePath ? { site: sitePath } : {}) };
  if (!runInfo) return written;
  const runJson = join(dir, RUN_INFO_FILE);
  await writeAtomic(runJson, `${JSON.stringify(runInfo, null, 2)}\n`);
  return { ...written, runInfo: runJson };
}
