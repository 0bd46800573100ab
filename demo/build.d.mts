/** Build the demo page into `outdir` (default dist/demo): main.js, index.html, style.css. */
export function buildDemo(options?: { outdir?: string; minify?: boolean }): Promise<{ outdir: string; metafile: import('esbuild').Metafile }>;
