// Long-run safety (issue 8): `resnet-stream analyze` killed with SIGKILL five times at seeded points
// (during start-up, right as a journal line lands, twice inside a batch, after the last batch) and a
// sixth as analysis.json lands (when that window is hit), resumes each time with the same command, and
// ends with an analysis.json, CSV, index.html and channel site byte-identical to an uninterrupted run's. The real CLI (dist/cli.js) in child
// processes, on the CPU adapter, with a full synthetic checkpoint (so it runs without ../shared) and,
// when present, the shared partial ImageNet checkpoint on shared ImageNet samples.
//
// Size: block 1.1 only (the fewest the CLI takes; the forward stops at layer1.1), the first 10
// generated stimuli at 224 x 224 (the CLI's only input size), top-k 2, batches of 2: 5 stream + at
// most 5 zoomIn + at most 5 zoomOut batches. Each process pays a start-up (weights, device, pipelines)
// of about 1.5 s on an idle machine; the first test is eight CLI runs plus two refused ones, the
// second four. About 2 minutes in all at a load average of 19 on 2 cores.
//
// Outputs that may differ between the runs, by design: run.json (dates, durations, argv, paths, how
// many batches came from the journal) and the journal's header line (its createdAt is the first
// start); the journal's batch lines must be byte-identical, i.e. every recomputed batch is bit-exact.

import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AnalysisRunInfo, type ForwardCentres, JournalMismatchError, runDatasetAnalysis } from '../src/analysis/analyze';
import { type JournalEntry, MemoryJournal, hashString } from '../src/analysis/journal';
import { FileJournal } from '../src/cli/journal-node';
import { tapShape } from '../src/model/architecture';
import { randomWeights } from '../src/weights/random';
import { mulberry32 } from '../src/util/random';
import { writePth } from '../src/weights/pth-writer';
import { PARTIAL_WEIGHTS, SAMPLES, sharedMissing } from './helpers/shared';

const CLI = resolve(__dirname, '../dist/cli.js');
const SEED = Number(process.env.KILL_RESUME_SEED ?? 8);
const dir = mkdtempSync(join(tmpdir(), 'resnet-stream-kill-'));
const OUTPUTS = ['analysis.json', 'block-1.1.csv', 'index.html', 'site/index.html', 'site/block-1.1/index.html', 'site/block-1.1/channel-0.html', 'site/block-1.1/channel-63.html'];

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  seconds: number;
}

interface Run {
  child: ChildProcess;
  exited: Promise<Exit>;
  readonly done: boolean;
  started: number;
}

function launch(args: string[]): Run {
  const started = performance.now();
  const child = spawn(process.execPath, [CLI, 'analyze', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const state = { done: false };
  const exited = new Promise<Exit>((ok) => child.on('close', (code, signal) => {
    state.done = true;
    ok({ code, signal, stderr, seconds: (performance.now() - started) / 1000 });
  }));
  return { child, exited, started, get done() { return state.done; } };
}

/** stderr lines of our own (Dawn's lavapipe limit warnings and the adapter line removed). */
function ownLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l && !l.startsWith('Warning: maxDynamic') && !l.startsWith('adapter: '));
}

interface JournalState {
  size: number;
  /** Complete lines (header included). */
  lines: number;
  /** Bytes after the last newline: an append cut short. */
  torn: number;
}

function journalState(path: string): JournalState {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch {
    return { size: -1, lines: 0, torn: 0 };
  }
  let lines = 0;
  for (const b of buf) if (b === 0x0a) lines++;
  return { size: buf.length, lines, torn: buf.length - (buf.lastIndexOf(0x0a) + 1) };
}

interface Watch {
  /** Milliseconds since the process started, at each journal size change, with the state then. */
  changes: { ms: number; state: JournalState }[];
  exit: Exit;
  /** Whether the test killed it (false: it ended by itself first). */
  killed: boolean;
  killedAfterMs: number | null;
}

/**
 * Run the command, polling the journal every millisecond; when `trigger` is true (checked at every
 * size change and on every poll), SIGKILL the process after `delayMs`. With no trigger it runs to the end.
 */
async function watch(args: string[], journal: string, trigger?: (s: JournalState, ms: number, changed: boolean) => boolean, delayMs = 0): Promise<Watch> {
  const run = launch(args);
  const changes: Watch['changes'] = [];
  let size = -2;
  let last: JournalState = { size: -1, lines: 0, torn: 0 };
  let armed = false;
  let killedAfterMs: number | null = null;
  const kill = () => {
    if (run.done) return;
    killedAfterMs = performance.now() - run.started;
    run.child.kill('SIGKILL');
  };
  const timer = setInterval(() => {
    if (run.done || armed) return;
    const ms = performance.now() - run.started;
    const now = statSync(journal, { throwIfNoEntry: false })?.size ?? -1;
    const changed = now !== size;
    if (changed) {
      size = now;
      last = journalState(journal);
      changes.push({ ms, state: last });
    }
    if (trigger && trigger(last, ms, changed)) {
      armed = true;
      if (delayMs > 0) setTimeout(kill, delayMs);
      else kill();
    }
  }, 1);
  const exit = await run.exited;
  clearInterval(timer);
  return { changes, exit, killed: killedAfterMs !== null && exit.signal === 'SIGKILL', killedAfterMs };
}

function read(path: string): Buffer | null {
  return existsSync(path) ? readFileSync(path) : null;
}

const journalLines = (path: string): string[] => readFileSync(path, 'utf8').split('\n').filter(Boolean);

let synthetic: string;
let otherWeights: string;

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error('dist/cli.js is missing: run `npm run build` (npm test does)');
  synthetic = join(dir, 'synthetic.pth');
  writeFileSync(synthetic, writePth(randomWeights(11)));
  otherWeights = join(dir, 'other.pth');
  writeFileSync(otherWeights, writePth(randomWeights(12)));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface KillPlan {
  what: string;
  trigger: (s: JournalState, ms: number, changed: boolean) => boolean;
  delayMs: number;
  /** The window may be too short to hit on a given machine: a run that ends first is logged, not a failure. */
  optional?: boolean;
}

/** Kill, resume, ..., finish; returns the log and checks what must hold after every kill. */
async function killAndResume(args: string[], out: string, plans: ((current: JournalState) => KillPlan)[], reference: Map<string, Buffer>, tornAfter: number | null, referenceLines: string[]) {
  const journal = join(out, 'journal.jsonl');
  const log: string[] = [];
  for (let k = 0; k < plans.length; k++) {
    const before = journalState(journal);
    const plan = plans[k](before);
    const w = await watch(args, journal, plan.trigger, plan.delayMs);
    const after = journalState(journal);
    const present = OUTPUTS.filter((n) => existsSync(join(out, n)));
    log.push(`kill ${k + 1} (${plan.what}): after ${((w.killedAfterMs ?? NaN) / 1000).toFixed(2)} s; journal ${before.lines} -> ${after.lines} lines` +
      `${after.torn ? `, torn tail of ${after.torn} bytes` : ''}${present.length ? `; outputs present: ${present.join(', ')}` : ''}`);
    if (!w.killed && plan.optional && w.exit.code === 0) {
      log.push(`  (kill ${k + 1} missed its window: the run finished first)`);
      continue;
    }
    expect(w.killed, `kill ${k + 1} (${plan.what}) never happened: the run ended by itself (code ${w.exit.code})\n${w.exit.stderr}`).toBe(true);
    // A kill never leaves a partial output: each file is absent, or complete (and then the reference's).
    for (const name of OUTPUTS) {
      const got = read(join(out, name));
      if (got) expect(got.equals(reference.get(name)!), `${name} after kill ${k + 1} is not the reference's`).toBe(true);
    }
    // The journal never loses an acknowledged line: what it holds is a prefix of the reference's batches.
    if (existsSync(journal)) {
      const lines = journalLines(journal).slice(0, after.lines);
      expect(lines.slice(1), `journal after kill ${k + 1}`).toEqual(referenceLines.slice(1, lines.length));
    }
    if (tornAfter === k) {
      // An append cut short, exactly as a kill inside the write leaves it (the polling above may or may
      // not catch one for real): the next resume must drop it and redo that batch.
      const s = journalState(journal);
      if (s.torn === 0 && s.lines < referenceLines.length) {
        const next = referenceLines[s.lines];
        appendFileSync(journal, next.slice(0, Math.floor(next.length / 2)));
        log.push(`  injected a torn tail: ${Math.floor(next.length / 2)} bytes of line ${s.lines + 1}`);
      }
    }
  }
  const last = await watch(args, journal);
  log.push(`final resume: ${last.exit.seconds.toFixed(2)} s`);
  expect(last.exit.code, last.exit.stderr).toBe(0);
  return { log, exit: last.exit };
}

describe('analyze: SIGKILL at random points, resumed, ends byte-identical', () => {
  it('five kills on a synthetic checkpoint; refuses a resume with other options or weights', async () => {
    const args = (out: string) => ['--weights', synthetic, '--out', out, '--blocks', '1.1', '--limit', '10', '--top-k', '2', '--batch', '2'];

    // ---- the uninterrupted reference, timed at every journal line
    const refOut = join(dir, 'reference');
    const ref = await watch(args(refOut), join(refOut, 'journal.jsonl'));
    expect(ref.exit.code, ref.exit.stderr).toBe(0);
    const reference = new Map(OUTPUTS.map((n) => [n, readFileSync(join(refOut, n))]));
    const referenceLines = journalLines(join(refOut, 'journal.jsonl'));
    const L = referenceLines.length; // header + batches
    const firstLineMs = ref.changes.find((c) => c.state.lines >= 1)?.ms ?? 1000;
    const lastLineMs = ref.changes.find((c) => c.state.lines >= L)?.ms ?? ref.exit.seconds * 1000;
    const batchMs = (lastLineMs - firstLineMs) / Math.max(1, L - 1);
    // Non-TTY progress: one line per phase, no bars.
    expect(ownLines(ref.exit.stderr).filter((l) => /^(stream|zoomIn|zoomOut):/.test(l)).length).toBe(3);
    expect(ref.exit.stderr).not.toContain('█');
    const runJson = JSON.parse(readFileSync(join(refOut, 'run.json'), 'utf8'));
    expect(runJson).toMatchObject({ resumed: false, replayedBatches: 0, computedBatches: L - 1 });
    expect(readFileSync(join(refOut, 'analysis.json'), 'utf8')).not.toMatch(/"date"|\d{4}-\d\d-\d\dT\d\d:/); // nothing dated

    // ---- five kills at seeded points, each followed by a resume with the same command
    const rng = mulberry32(SEED);
    const B = L - 1;
    const out = join(dir, 'killed');
    const atLeast = (current: JournalState, fraction: number) => Math.min(B, Math.max(current.lines + 1, 1 + Math.round(fraction * B)));
    const plans: ((c: JournalState) => KillPlan)[] = [
      () => {
        const ms = firstLineMs * (0.3 + 0.6 * rng()); // before the first journal line: weights, device, header
        return { what: `start-up, at ${(ms / 1000).toFixed(2)} s`, trigger: (_s, t) => t >= ms, delayMs: 0 };
      },
      (c) => {
        const target = atLeast(c, 0.1 + 0.2 * rng());
        return { what: `as journal line ${target} lands`, trigger: (s, _t, changed) => changed && s.lines >= target, delayMs: 0 };
      },
      (c) => {
        const target = atLeast(c, 0.35 + 0.2 * rng());
        const delay = Math.round(0.5 * batchMs * rng());
        return { what: `inside the batch after line ${target}, +${delay} ms`, trigger: (s) => s.lines >= target, delayMs: delay };
      },
      (c) => {
        const target = Math.min(B - 1, atLeast(c, 0.6 + 0.2 * rng()));
        const delay = Math.round(0.5 * batchMs * rng());
        return { what: `inside the batch after line ${target}, +${delay} ms`, trigger: (s) => s.lines >= target, delayMs: delay };
      },
      () => ({ what: 'after the last batch: assembling and writing the outputs', trigger: (s) => s.lines >= L, delayMs: 0 }),
      // A sixth, when it can be hit: the moment analysis.json has landed and the CSV and index.html are
      // still being written (a run killed there leaves a mixed set of old and new outputs).
      () => ({ what: 'as analysis.json lands', trigger: () => existsSync(join(out, 'analysis.json')), delayMs: 0, optional: true }),
    ];
    const { log, exit } = await killAndResume(args(out), out, plans, reference, 2, referenceLines);

    for (const name of OUTPUTS) {
      expect(readFileSync(join(out, name)).equals(reference.get(name)!), `${name} differs from the uninterrupted run's`).toBe(true);
    }
    const lines = journalLines(join(out, 'journal.jsonl'));
    // Every batch bit-identical to the reference's, none twice. (If these agree and analysis.json does
    // not, the fault is in the resume; if these differ, the forward pass is not deterministic.)
    expect(lines.slice(1)).toEqual(referenceLines.slice(1));
    const header = JSON.parse(lines[0]);
    const refHeader = JSON.parse(referenceLines[0]);
    expect({ ...header, createdAt: null }).toEqual({ ...refHeader, createdAt: null });
    const info = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'));
    expect(info).toMatchObject({ resumed: true, replayedBatches: B, computedBatches: 0, startedAt: header.createdAt });
    expect(readdirSync(out).filter((f) => /\.(tmp|partial)$/.test(f))).toEqual([]); // no stray temp files
    expect(ownLines(exit.stderr).some((l) => /stream: \d+\/10 images, \d+ from the journal/.test(l))).toBe(true);

    // ---- a resume with other options or other weights is refused, in one line, leaving the journal alone
    const journalBytes = readFileSync(join(out, 'journal.jsonl'));
    for (const [extra, pattern] of [
      [['--top-k', '3'], /journal belongs to a different run \(topK: journal 2, now 3\).*--restart/],
      [['--weights', otherWeights], /journal belongs to a different run \(meta\.weights: journal "synthetic\.pth", now "other\.pth"; meta\.weightsSha256: journal "[0-9a-f]{64}", now "[0-9a-f]{64}"\)/],
    ] as [string[], RegExp][]) {
      const base = args(out);
      for (let i = 0; i < extra.length; i += 2) base[base.indexOf(extra[i]) + 1] = extra[i + 1];
      const r = await launch(base).exited;
      const own = ownLines(r.stderr);
      expect(r.code, r.stderr).toBe(1);
      expect(own.length, r.stderr).toBe(1);
      expect(own[0]).toMatch(pattern);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(readFileSync(join(out, 'journal.jsonl')).equals(journalBytes)).toBe(true);
    }
    console.log(`kill-resume (seed ${SEED}), synthetic checkpoint, block 1.1, 10 stimuli, k 2, batch 2: ${B} batches; ` +
      `reference ${ref.exit.seconds.toFixed(2)} s (first journal line at ${(firstLineMs / 1000).toFixed(2)} s, ${batchMs.toFixed(0)} ms per batch)\n  ${log.join('\n  ')}`);
  }, 300_000);

  const noShared = sharedMissing(PARTIAL_WEIGHTS, SAMPLES);
  it.skipIf(noShared)('two kills on the shared partial ImageNet checkpoint and ImageNet samples', async () => {
    const args = (out: string) => ['--weights', PARTIAL_WEIGHTS, '--images', SAMPLES, '--out', out, '--blocks', '1.1', '--limit', '4', '--top-k', '2', '--batch', '2'];
    const refOut = join(dir, 'partial-reference');
    const ref = await watch(args(refOut), join(refOut, 'journal.jsonl'));
    expect(ref.exit.code, ref.exit.stderr).toBe(0);
    const reference = new Map(OUTPUTS.map((n) => [n, readFileSync(join(refOut, n))]));
    const referenceLines = journalLines(join(refOut, 'journal.jsonl'));
    const L = referenceLines.length;
    const rng = mulberry32(SEED + 1);
    const out = join(dir, 'partial-killed');
    const { log } = await killAndResume(args(out), out, [
      (c) => {
        const target = Math.min(L - 1, Math.max(c.lines + 1, 1 + Math.floor(rng() * (L - 2))));
        return { what: `as journal line ${target} lands`, trigger: (s, _t, changed) => changed && s.lines >= target, delayMs: 0 };
      },
      () => ({ what: 'after the last batch', trigger: (s) => s.lines >= L, delayMs: 0 }),
    ], reference, null, referenceLines);
    for (const name of OUTPUTS) expect(readFileSync(join(out, name)).equals(reference.get(name)!), name).toBe(true);
    console.log(`kill-resume, shared partial checkpoint, 4 ImageNet samples, block 1.1: reference ${ref.exit.seconds.toFixed(2)} s\n  ${log.join('\n  ')}`);
  }, 180_000);
});

// ---- the journal's rules, without a GPU

describe('file journal: atomic header, torn tail dropped, corruption named', () => {
  const header = (createdAt: string): JournalEntry => ({
    type: 'header', version: 1, configHash: 'h', createdAt,
    config: { blocks: ['1.1'], variant: 'post-relu', topK: 1, batchSize: 1, images: 1, imagesHash: 'x', taps: [], zoomFactors: [], keepTuningCurves: true, meta: {} },
  });
  const batch = (i: number): JournalEntry => ({ type: 'batch', key: `stream/${i}`, transform: 'none', images: [i], taps: ['t'], values: { t: 'AACAPw==' } });
  const collect = async (j: FileJournal) => {
    const out: JournalEntry[] = [];
    for await (const e of j.entries()) out.push(e);
    return out;
  };

  it('creates the journal with its header through a temp file and appends whole lines', async () => {
    const path = join(dir, 'rules-1.jsonl');
    const j = new FileJournal(path);
    await j.append(header('2025-01-01T00:00:00.000Z'));
    expect(existsSync(`${path}.tmp`)).toBe(false);
    await j.append(batch(0));
    await j.append(batch(1));
    expect(readFileSync(path, 'utf8').endsWith('\n')).toBe(true);
    expect((await collect(new FileJournal(path))).map((e) => (e.type === 'batch' ? e.key : e.type))).toEqual(['header', 'stream/0', 'stream/1']);
  });

  it('drops text after the last newline (an append cut short), so the next append starts a fresh line', async () => {
    const path = join(dir, 'rules-2.jsonl');
    const j = new FileJournal(path);
    await j.append(header('2025-01-01T00:00:00.000Z'));
    await j.append(batch(0));
    const whole = readFileSync(path);
    appendFileSync(path, JSON.stringify(batch(1)).slice(0, 20));
    const again = new FileJournal(path);
    expect((await collect(again)).length).toBe(2);
    expect(again.droppedBytes).toBe(20);
    expect(readFileSync(path).equals(whole)).toBe(true);
    await again.append(batch(1));
    expect((await collect(new FileJournal(path))).length).toBe(3);
    // A journal that is nothing but a torn header starts afresh: the header is written again, atomically.
    const torn = join(dir, 'rules-3.jsonl');
    writeFileSync(torn, JSON.stringify(header('x')).slice(0, 30));
    const fresh = new FileJournal(torn);
    expect(await collect(fresh)).toEqual([]);
    await fresh.append(header('2025-02-02T00:00:00.000Z'));
    expect(await collect(new FileJournal(torn))).toEqual([header('2025-02-02T00:00:00.000Z')]);
  });

  it('refuses a complete line that is not JSON (corruption this writer cannot make), naming file and line', async () => {
    const path = join(dir, 'rules-4.jsonl');
    writeFileSync(path, `${JSON.stringify(header('x'))}\n{"type":"batch",\n${JSON.stringify(batch(1))}\n`);
    await expect(collect(new FileJournal(path))).rejects.toThrow(`${path}:2: journal line is not valid JSON`);
  });

  it('refuses a resume with other metadata (weights, adapter) and names the field', async () => {
    const images = Array.from({ length: 3 }, (_, i) => ({ index: i, name: `i${i}` }));
    const forwardCentres: ForwardCentres = async (batchImages, _t, taps) =>
      new Map(taps.map((t) => [t, Float32Array.from({ length: batchImages.length * tapShape(t, 1, 224, 224)[1] }, (_, i) => (i % 7) - 3)]));
    const journal = new MemoryJournal();
    const base = { images, blocks: ['1.1'], topK: 1, batchSize: 2, forwardCentres, journal };
    await runDatasetAnalysis({ ...base, meta: { weights: 'a.pth', weightsSha256: 'aa', adapter: 'lavapipe' } });
    await expect(runDatasetAnalysis({ ...base, meta: { weights: 'a.pth', weightsSha256: 'bb', adapter: 'lavapipe' } }))
      .rejects.toThrow(/journal belongs to a different run \(meta\.weightsSha256: journal "aa", now "bb"\); to start afresh, delete the journal \(resnet-stream analyze --restart\)/);
    await expect(runDatasetAnalysis({ ...base, meta: { weights: 'a.pth', weightsSha256: 'aa', adapter: 'swiftshader' } }))
      .rejects.toThrow(JournalMismatchError);
    // A journal written before the metadata was part of a run's identity is refused too, not mixed in.
    const old = journal.state.map((e) => {
      if (e.type !== 'header') return e;
      const { meta: _meta, ...config } = e.config;
      return { ...e, config, configHash: hashString(JSON.stringify(config)) }; // as configHash() made it then
    }) as JournalEntry[];
    await expect(runDatasetAnalysis({ ...base, journal: new MemoryJournal(old), meta: { weights: 'a.pth', weightsSha256: 'aa', adapter: 'lavapipe' } }))
      .rejects.toThrow(/meta: journal absent, now \{/);
    // The same metadata resumes (here: replays everything).
    let info: AnalysisRunInfo | null = null;
    await runDatasetAnalysis({ ...base, meta: { weights: 'a.pth', weightsSha256: 'aa', adapter: 'lavapipe' }, onRunInfo: (i) => { info = i; } });
    expect(info).toMatchObject({ resumed: true, computedBatches: 0, replayedBatches: journal.state.length - 1 });
  });
});
