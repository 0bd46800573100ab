// Sharded dataset runs (issue 16): `analyze --shard K/N` x 3 side by side and `merge` give analysis.json,
// the CSV, index.html and the channel site byte-identical to the unsharded run's, on 12 shared ImageNet samples (partial
// real weights, block 1.1, k 2, batch 4: 4 CLI processes at once on the CPU adapter, about a minute on 2
// cores). Merges of incomplete or mixed sets name what is wrong and write nothing; a shard killed part
// way resumes; the output lock; --shard auto/N; --plan. And, without a GPU, the core's merge against the
// unsharded run over 1 to 5 shards on a synthetic forward, sweep included.

import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type ForwardCentres, JournalMismatchError, ShardSetError, analysisToJson, mergeDatasetShards, runDatasetAnalysis, runDatasetShard } from '../src/analysis/analyze';
import { MemoryJournal } from '../src/analysis/journal';
import { shardRange } from '../src/analysis/shard';
import { SWEEP_FACTORS } from '../src/analysis/metrics';
import { parseShardOption } from '../src/cli/analyze';
import { LOCK_FILE } from '../src/cli/lock-node';
import { tapShape } from '../src/model/architecture';
import { CLI_PATH, runCliCommand } from './helpers/cli';
import { PARTIAL_WEIGHTS, SAMPLES, sharedMissing } from './helpers/shared';

const dir = mkdtempSync(join(tmpdir(), 'resnet-stream-shard-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const OUTPUTS = ['analysis.json', 'block-1.1.csv', 'index.html', 'site/index.html', 'site/block-1.1/index.html', 'site/block-1.1/channel-0.html', 'site/block-1.1/channel-63.html'];

function launch(args: string[]): { child: ChildProcess; done: Promise<{ code: number | null; stderr: string }> } {
  const child = spawn(process.execPath, [CLI_PATH, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  return { child, done: new Promise((ok) => child.on('close', (code) => ok({ code, stderr }))) };
}

describe('the core: shards merged equal the unsharded run (synthetic forward, no GPU)', () => {
  // A forward whose values depend only on the image, transform, tap and channel (as the engine's do at a fixed batch).
  const forwardCentres: ForwardCentres = async (images, transform, taps) => new Map(taps.map((t) => {
    const C = tapShape(t, 1, 224, 224)[1];
    const salt = transform.length * 7 + t.length;
    return [t, Float32Array.from({ length: images.length * C }, (_, i) => {
      const img = images[Math.floor(i / C)].index;
      const c = i % C;
      return Math.fround(Math.sin(img * 12.9898 + c * 78.233 + salt) * 43758.5453) % 3 - (c % 5 === 0 ? 2.5 : 0.5);
    })];
  }));
  const images = Array.from({ length: 23 }, (_, i) => ({ index: i, name: `img-${i}.png`, sha256: `${i}`.padStart(64, '0') }));
  const base = { images, blocks: ['1.1', '2.0'], topK: 3, batchSize: 4, forwardCentres, zoomFactors: SWEEP_FACTORS, meta: { weights: 'w.pth', adapter: 'x' } };

  it('merges 1 to 5 shards into the same analysis.json text', async () => {
    const whole = analysisToJson(await runDatasetAnalysis({ ...base, journal: new MemoryJournal() }));
    for (const count of [1, 2, 3, 5]) {
      const journals = Array.from({ length: count }, () => new MemoryJournal());
      for (let index = count - 1; index >= 0; index--) await runDatasetShard({ ...base, shard: { index, count }, journal: journals[index] });
      const merged = await mergeDatasetShards({ shards: journals.map((journal, k) => ({ name: `s${k}`, journal })).reverse() });
      expect(analysisToJson(merged.analysis), `${count} shards`).toBe(whole);
      expect(merged.images.map((i) => i.name)).toEqual(images.map((i) => i.name));
    }
  });

  it('refuses a missing, repeated, unfinished or foreign shard, and a resume over changed image contents', async () => {
    const journals = [0, 1, 2].map(() => new MemoryJournal());
    for (const index of [0, 1, 2]) await runDatasetShard({ ...base, shard: { index, count: 3 }, journal: journals[index] });
    const named = (js: MemoryJournal[]) => js.map((journal, k) => ({ name: `s${k}`, journal }));
    await expect(mergeDatasetShards({ shards: named([journals[0], journals[2]]) })).rejects.toThrow(/^shard 1\/3 missing$/);
    await expect(mergeDatasetShards({ shards: named([journals[0], journals[1], journals[1], journals[2]]) })).rejects.toThrow(/shard 1\/3 given more than once \(s1, s2\)/);
    const cut = new MemoryJournal(journals[1].state.slice(0, 3));
    await expect(mergeDatasetShards({ shards: named([journals[0], cut, journals[2]]) })).rejects.toThrow(/shard 1\/3 \(s1\) has not finished: its journal ends before batch zoomIn\/0/);
    const other = new MemoryJournal();
    await runDatasetShard({ ...base, topK: 2, shard: { index: 1, count: 3 }, journal: other });
    await expect(mergeDatasetShards({ shards: named([journals[0], other, journals[2]]) })).rejects.toThrow(/not of one run: s1 differs from s0 \(topK: s0 3, s1 2\)/);
    await expect(mergeDatasetShards({ shards: named([journals[0], other, journals[2]]) })).rejects.toBeInstanceOf(ShardSetError);
    // Same names, other bytes: the resume is refused, naming the image.
    const changed = images.map((i) => (i.index === 9 ? { ...i, sha256: 'f'.repeat(64) } : i));
    await expect(runDatasetShard({ ...base, images: changed, shard: { index: 1, count: 3 }, journal: journals[1] }))
      .rejects.toThrow(/contentHash: journal "[0-9a-f]+", now "[0-9a-f]+"; contents changed: img-9\.png/);
    await expect(runDatasetShard({ ...base, images: changed, shard: { index: 1, count: 3 }, journal: journals[1] })).rejects.toBeInstanceOf(JournalMismatchError);
  });

  it('assigns contiguous shares and reads K from the scheduler', () => {
    expect([0, 1, 2].map((index) => shardRange(12, { index, count: 3 }))).toEqual([{ start: 0, end: 4 }, { start: 4, end: 8 }, { start: 8, end: 12 }]);
    expect([0, 1, 2].map((index) => shardRange(10, { index, count: 3 }))).toEqual([{ start: 0, end: 3 }, { start: 3, end: 6 }, { start: 6, end: 10 }]);
    expect(parseShardOption('2/3', {})).toEqual({ index: 2, count: 3 });
    expect(parseShardOption('auto/4', { JOB_COMPLETION_INDEX: '3' })).toMatchObject({ index: 3, count: 4 });
    expect(parseShardOption('auto/4', { SLURM_ARRAY_TASK_ID: '5', SLURM_ARRAY_TASK_MIN: '4' })).toMatchObject({ index: 1, count: 4 });
    expect(() => parseShardOption('3/3', {})).toThrow(/from 0 to 2/);
    expect(() => parseShardOption('auto/3', {})).toThrow(/JOB_COMPLETION_INDEX.*SLURM_ARRAY_TASK_ID/);
    expect(() => parseShardOption('1of3', {})).toThrow(/K\/N/);
  });
});

const noShared = sharedMissing(PARTIAL_WEIGHTS, SAMPLES);
describe.skipIf(noShared)('analyze --shard on real images: 3 shards side by side, merged byte-identical', () => {
  const args = (out: string, extra: string[] = []) => ['analyze', '--weights', PARTIAL_WEIGHTS, '--images', SAMPLES, '--limit', '12', '--blocks', '1.1',
    '--top-k', '2', '--batch', '4', '--out', out, ...extra];
  const shardDirs = [0, 1, 2].map((k) => join(dir, `shard-${k}`));

  it('runs 3 shards and the unsharded run at once; merge writes the same bytes; bad sets write nothing', async () => {
    const t0 = performance.now();
    const runs = [launch(args(join(dir, 'whole'))), ...shardDirs.map((d, k) => launch(args(d, ['--shard', `${k}/3`])))];
    const exits = await Promise.all(runs.map((r) => r.done));
    const seconds = (performance.now() - t0) / 1000;
    for (const e of exits) expect(e.code, e.stderr).toBe(0);
    expect(exits[2].stderr).toMatch(/shard 1\/3 done: images 4 \.\. 7/);

    const merged = await runCliCommand(['merge', '--out', join(dir, 'merged'), ...shardDirs]);
    expect(merged.code, merged.stderr).toBe(0);
    for (const name of OUTPUTS) {
      expect(readFileSync(join(dir, 'merged', name)).equals(readFileSync(join(dir, 'whole', name))), `${name} differs from the unsharded run's`).toBe(true);
    }
    const info = JSON.parse(readFileSync(join(dir, 'merged', 'run.json'), 'utf8'));
    expect(info.contentHash).toBe(JSON.parse(readFileSync(join(dir, 'whole', 'journal.jsonl'), 'utf8').split('\n')[0]).config.contentHash);
    expect(readdirSync(join(dir, 'merged')).filter((f) => f.startsWith('.'))).toEqual([]); // the lock is gone

    // A shard missing, a shard twice: named, nothing written.
    for (const [set, pattern] of [
      [[shardDirs[0], shardDirs[2]], /error: shard 1\/3 missing/],
      [[shardDirs[0], shardDirs[1], shardDirs[1], shardDirs[2]], /error: shard 1\/3 given more than once/],
    ] as [string[], RegExp][]) {
      const r = await runCliCommand(['merge', '--out', join(dir, 'refused'), ...set]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(pattern);
      expect(existsSync(join(dir, 'refused'))).toBe(false);
    }
    console.log(`3 shards + unsharded run side by side (12 ImageNet samples, block 1.1, k 2, batch 4): ${seconds.toFixed(1)} s; merged byte-identical`);
  }, 600_000);

  it('a shard killed part way resumes past its stale lock; merging it before names it and writes nothing', async () => {
    const out = join(dir, 'killed-1');
    const run = launch(args(out, ['--shard', '1/3']));
    const journal = join(out, 'journal.jsonl');
    await new Promise<void>((ok) => {
      const timer = setInterval(() => {
        const lines = existsSync(journal) ? readFileSync(journal, 'utf8').split('\n').length - 1 : 0;
        if (lines >= 2) {
          clearInterval(timer);
          run.child.kill('SIGKILL');
          ok();
        }
      }, 5);
    });
    await run.done;
    expect(existsSync(join(out, LOCK_FILE))).toBe(true); // left behind by the kill
    const early = await runCliCommand(['merge', '--out', join(dir, 'early'), shardDirs[0], out, shardDirs[2]]);
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(/shard 1\/3 \(.*killed-1\) has not finished: its journal ends before batch [a-zA-Z]+\/\d+; run those shards' commands again/);
    expect(existsSync(join(dir, 'early'))).toBe(false);
    const resumed = await runCliCommand(args(out, ['--shard', '1/3']), 300_000);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/taking over a stale lock on .*killed-1: pid \d+ on .*; pid \d+ is not running/);
    expect(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')).shard).toMatchObject({ resumed: true });
    const merged = await runCliCommand(['merge', '--out', join(dir, 'merged-after-kill'), shardDirs[0], out, shardDirs[2]]);
    expect(merged.code, merged.stderr).toBe(0);
    expect(readFileSync(join(dir, 'merged-after-kill', 'analysis.json')).equals(readFileSync(join(dir, 'whole', 'analysis.json')))).toBe(true);
  }, 600_000);

  it('refuses a second writer of a folder: a live holder here, a fresh heartbeat from another host; takes a stale one over', async () => {
    const out = join(dir, 'locked');
    const boot = existsSync('/proc/sys/kernel/random/boot_id') ? readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() : null;
    const stat = existsSync(`/proc/${process.pid}/stat`) ? readFileSync(`/proc/${process.pid}/stat`, 'utf8') : null;
    const start = stat ? stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] : null;
    const lock = (info: object) => {
      cpSync(join(dir, 'merged'), out, { recursive: true });
      writeFileSync(join(out, LOCK_FILE), JSON.stringify({ startedAt: '2026-01-01T00:00:00.000Z', command: 'analyze', ...info }));
    };
    const merge = () => runCliCommand(['merge', '--out', out, ...shardDirs]);
    lock({ host: hostname(), bootId: boot, pid: process.pid, processStart: start }); // this test process: alive
    let r = await merge();
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`error: .*locked is in use by another run: pid ${process.pid} on ${hostname()}`));
    lock({ host: 'elsewhere', bootId: 'x', pid: 1, processStart: '1' }); // another host, heartbeat fresh
    r = await merge();
    expect(r.stderr).toMatch(/in use by another run: pid 1 on elsewhere.*heartbeat has stopped for 120 s/);
    const old = new Date(Date.now() - 600_000);
    utimesSync(join(out, LOCK_FILE), old, old); // ... and silent for 10 minutes
    r = await merge();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/taking over a stale lock .*pid 1 on elsewhere.*heartbeat stopped \d+ s ago/);
    expect(existsSync(join(out, LOCK_FILE))).toBe(false);
  }, 300_000);

  it('--plan prints the units, their shares and the projection from the benchmark\'s measured rates, running nothing', async () => {
    const r = await runCliCommand(['analyze', '--plan', '--weights', PARTIAL_WEIGHTS, '--images', SAMPLES, '--shard', '1/4']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/units: images, 1000 /);
    expect(r.stdout).toMatch(/shards: 4, contiguous: 0: 0\.\.249, 1: 250\.\.499, 2: 500\.\.749, 3: 750\.\.999 \(this is shard 1: 250 images\)/);
    // The newest benchmark file of the adapter: the rate printed is the one it holds, and the whole
    // run's stream pass is the 1,000 images at that rate.
    const lavapipe = r.stdout.match(/lavapipe\s+\d{4}-\d{2}-\d{2}, \d+ CPUs \((\d{4}-\d{2}-\d{2}-fv-node-lavapipe\.json)\)\s+([\d.]+)\s+(\d+) min/);
    expect(lavapipe, r.stdout).not.toBeNull();
    const newest = readdirSync(join(import.meta.dirname, '..', 'bench', 'results')).filter((f) => /^\d{4}-\d{2}-\d{2}-fv-node-lavapipe\.json$/.test(f)).sort().at(-1);
    expect(lavapipe![1]).toBe(newest);
    const rate = (JSON.parse(readFileSync(join(import.meta.dirname, '..', 'bench', 'results', newest!), 'utf8')) as { dataset: { imagesPerSecond: number } }).dataset.imagesPerSecond;
    expect(Number(lavapipe![2])).toBeCloseTo(rate, 2);
    expect(Number(lavapipe![3])).toBe(Math.round(1000 / rate / 60));
    expect(r.stdout).toMatch(/nvidia .*188\.29/);
    expect(r.stderr).not.toMatch(/adapter:/); // no GPU opened
    const fv = await runCliCommand(['analyze', '--plan', '--probes', 'fv', '--weights', PARTIAL_WEIGHTS, '--blocks', '1.1,2.0,2.1,3.0,3.1,4.0,4.1']);
    expect(fv.code, fv.stderr).toBe(0);
    expect(fv.stdout).toMatch(/units: render units \(up to 64 channels of one tap, 2560 steps at 224 x 224\), 33; 2112 distinct probes serving 2496 block readouts/);
    expect(fv.stdout).toMatch(/lavapipe .* days/);
  }, 120_000);
});
