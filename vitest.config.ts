import { defineConfig } from 'vitest/config';
import { readFileSync } from 'node:fs';

// Load .wgsl files as text, exactly as esbuild's text loader does for the bundles.
const wgslAsText = {
  name: 'wgsl-as-text',
  enforce: 'pre' as const,
  load(id: string) {
    if (id.endsWith('.wgsl')) return `export default ${JSON.stringify(readFileSync(id, 'utf8'))};`;
    return null;
  },
};

const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version: string };

export default defineConfig({
  plugins: [wgslAsText],
  define: { RESNET_STREAM_VERSION: JSON.stringify(version) },
  test: {
    include: ['test/**/*.test.ts'],
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // One GPU device per worker process; the CPU adapters are slow, so keep parallelism low.
    pool: 'forks',
    maxWorkers: 2,
  },
});
