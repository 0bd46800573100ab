// Builds the demo page into a self-contained folder (default dist/demo): main.js (the page script,
// with the library and Chart.js bundled in), index.html and style.css. Used by esbuild.config.mjs
// and by the demo tests.
import * as esbuild from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export async function buildDemo({ outdir = join(here, '..', 'dist', 'demo'), minify = true } = {}) {
  mkdirSync(outdir, { recursive: true });
  const result = await esbuild.build({
    entryPoints: [join(here, 'main.ts')],
    outfile: join(outdir, 'main.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    loader: { '.wgsl': 'text' },
    sourcemap: true,
    minify,
    logLevel: 'warning',
    metafile: true,
  });
  for (const f of ['index.html', 'style.css']) copyFileSync(join(here, f), join(outdir, f));
  return { outdir, metafile: result.metafile };
}
