// Sharded fv probes (issue 16): `analyze --probes fv --shard K/3` x 3 side by side and `merge` give the
// analysis.json, CSV, index.html and PNGs of the unsharded run, byte for byte, at a tiny size (random
// weights, block 1.1: 192 probes of 32 x 32, 2 steps, --fv-batch 32: 6 render units, 2 per shard).

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writePth } from '../src/weights/pth-writer';
import { randomWeights } from '../src/weights/random';
import { CLI_PATH, runCliCommand } from './helpers/cli';

const dir = mkdtempSync(join(tmpdir(), 'resnet-stream-fv-shard-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [CLI_PATH, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  return new Promise((ok) => child.on('close', (code) => ok({ code, stderr })));
}

const files = (root: string, sub = ''): string[] => readdirSync(join(root, sub), { withFileTypes: true })
  .flatMap((e) => (e.isDirectory() ? files(root, join(sub, e.name)) : [join(sub, e.name)])).sort();

describe('analyze --probes fv --shard', () => {
  it('3 shards side by side, merged: byte-identical to the unsharded run; an unfinished shard is named', async () => {
    const pth = join(dir, 'synthetic.pth');
    writeFileSync(pth, writePth(randomWeights(11)));
    const args = (out: string, extra: string[] = []) => ['analyze', '--probes', 'fv', '--weights', pth, '--blocks', '1.1', '--fv-steps', '2', '--fv-size', '32',
      '--fv-batch', '32', '--batch', '16', '--out', out, ...extra];
    const shards = [0, 1, 2].map((k) => join(dir, `shard-${k}`));
    const t0 = performance.now();
    const exits = await Promise.all([run(args(join(dir, 'whole'))), ...shards.map((d, k) => run(args(d, ['--shard', `${k}/3`])))]);
    const seconds = (performance.now() - t0) / 1000;
    for (const e of exits) expect(e.code, e.stderr).toBe(0);
    expect(exits[1].stderr).toMatch(/fv probes: 64 rendered, 0 reused/);
    expect(exits[1].stderr).toMatch(/shard 0\/3 done: 64 probes measured/);

    const early = await runCliCommand(['merge', '--out', join(dir, 'early'), shards[0], join(dir, 'whole'), shards[2]]);
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(/not finished \(no fv-shard\.json\): .*whole/);
    expect(existsSync(join(dir, 'early'))).toBe(false);

    const merged = await runCliCommand(['merge', '--out', join(dir, 'merged'), ...shards]);
    expect(merged.code, merged.stderr).toBe(0);
    for (const name of ['analysis.json', 'block-1.1.csv', 'index.html']) {
      expect(readFileSync(join(dir, 'merged', name)).equals(readFileSync(join(dir, 'whole', name))), `${name} differs from the unsharded run's`).toBe(true);
    }
    const pngs = files(join(dir, 'whole', 'probes')).filter((f) => f.endsWith('.png'));
    expect(pngs.length).toBe(192);
    expect(files(join(dir, 'merged', 'probes')).filter((f) => f.endsWith('.png'))).toEqual(pngs);
    for (const f of pngs) expect(readFileSync(join(dir, 'merged', 'probes', f)).equals(readFileSync(join(dir, 'whole', 'probes', f))), f).toBe(true);
    console.log(`fv: 3 shards + unsharded run side by side (block 1.1, 192 probes of 32 x 32, 2 steps): ${seconds.toFixed(1)} s; merged byte-identical, PNGs too`);
  }, 600_000);
});
