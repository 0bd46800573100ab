// The source layout as layers: a folder imports only from its own layer and the ones below it, so
// the folders show the flow util -> gpu -> kernels -> model -> weights, image -> featureviz ->
// analysis -> report -> browser / cli. Node-only code sits at the edge: in src/cli, or in files
// named *-node.ts (plus src/gpu/node.ts, Dawn's loader). No source file is over about 600 lines
// but the libjpeg port.

import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(__dirname, '../src');

/** Lower numbers are lower layers; equal numbers are siblings that may import each other. */
const LAYER: Record<string, number> = {
  util: 0, gpu: 1, kernels: 2, model: 3, weights: 4, image: 4, featureviz: 5, analysis: 6, report: 7, browser: 8, index: 9, 'index-node': 9, cli: 9,
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [path] : [];
  });
}

const folderOf = (file: string) => {
  const rel = relative(SRC, file);
  return rel.includes('/') ? rel.split('/')[0] : rel.replace(/\.ts$/, '');
};

/** Every `from '...'` and `import('...')` specifier of a file. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from|import\()\s*'([^']+)'/g)].map((m) => m[1]);
}

const files = sourceFiles(SRC);
const isNodeEdge = (file: string) => folderOf(file) === 'cli' || file.endsWith('-node.ts') || relative(SRC, file) === 'gpu/node.ts';

describe('source layers', () => {
  it('every folder imports only from its own layer or lower ones', () => {
    const upward: string[] = [];
    for (const file of files) {
      const from = folderOf(file);
      expect(LAYER[from], `${relative(SRC, file)}: a folder without a layer`).toBeDefined();
      for (const spec of importsOf(file).filter((s) => s.startsWith('.'))) {
        const target = resolve(dirname(file), spec);
        if (!target.startsWith(SRC)) continue; // shaders, weights/download.mjs
        const to = folderOf(`${target}.ts`);
        if (LAYER[to] > LAYER[from]) upward.push(`${relative(SRC, file)} -> ${relative(SRC, target)}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('no two folders import each other, directly or through others', () => {
    const edges = new Map<string, Set<string>>();
    for (const file of files) {
      for (const spec of importsOf(file).filter((s) => s.startsWith('.'))) {
        const target = resolve(dirname(file), spec);
        if (!target.startsWith(SRC)) continue;
        const [a, b] = [folderOf(file), folderOf(`${target}.ts`)];
        if (a !== b) edges.set(a, (edges.get(a) ?? new Set()).add(b));
      }
    }
    const cycles: string[] = [];
    const walk = (start: string, at: string, path: string[]) => {
      for (const next of edges.get(at) ?? []) {
        if (next === start) cycles.push([...path, next].join(' -> '));
        else if (!path.includes(next)) walk(start, next, [...path, next]);
      }
    };
    for (const folder of edges.keys()) walk(folder, folder, [folder]);
    expect(cycles).toEqual([]);
  });

  it('Node modules are imported only at the edge (src/cli, *-node.ts), never by the analysis', () => {
    const nodeImports = files.flatMap((file) => importsOf(file)
      .filter((s) => s.startsWith('node:') || ['fs', 'path', 'os', 'child_process', 'module'].includes(s))
      .map((s) => `${relative(SRC, file)}: ${s}`));
    expect(nodeImports.filter((line) => !isNodeEdge(resolve(SRC, line.split(':')[0])))).toEqual([]);
    expect(files.filter((f) => folderOf(f) === 'analysis' && isNodeEdge(f)).map((f) => relative(SRC, f))).toEqual([]);
  });

  it('keeps every source file under about 600 lines, but the libjpeg port', () => {
    const long = files
      .filter((f) => relative(SRC, f) !== 'image/jpeg.ts')
      .map((f) => [relative(SRC, f), readFileSync(f, 'utf8').split('\n').length] as const)
      .filter(([, lines]) => lines > 600);
    expect(long).toEqual([]);
  });
});
