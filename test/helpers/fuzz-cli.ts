// Running the built CLI (dist/cli.js, or $RESNET_STREAM_CLI) on many corrupted files, as a user
// would, and judging each outcome: a clean load, or one `error:` line naming something. Used by
// test/fuzz-checkpoints.test.ts and test/fuzz-images.test.ts.

import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

export const CLI = process.env.RESNET_STREAM_CLI ? resolve(process.env.RESNET_STREAM_CLI) : resolve(__dirname, '../../dist/cli.js');

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  ms: number;
}

/** Run the CLI with a wall-clock limit; a process that outlives it is killed and reported as a hang. */
export function runCli(args: string[], timeoutMs: number): Promise<CliRun> {
  return new Promise((done) => {
    const start = performance.now();
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RESNET_STREAM_DEBUG: '' } });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, stdout, stderr, timedOut, ms: performance.now() - start });
    });
  });
}

/** stderr without Dawn's driver warnings (printed by lavapipe at device creation, if a device is made). */
export function ownLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l && !l.startsWith('Warning: maxDynamic'));
}

/**
 * Why an error outcome is NOT acceptable, or null if it is: exit 1, exactly one stderr line, starting
 * with 'error: ', naming `mustName` (the file) or a quoted entry/tensor, no stack frame, and not the
 * CLI's internal-error form (which means an exception the code did not anticipate: a bug).
 */
export function badError(r: CliRun, mustName: string): string | null {
  if (r.timedOut) return `hung (killed after ${Math.round(r.ms)} ms)`;
  if (r.signal) return `killed by ${r.signal}`;
  if (r.code !== 1) return `exit code ${r.code}`;
  const lines = ownLines(r.stderr);
  if (lines.length !== 1) return `${lines.length} stderr lines: ${JSON.stringify(r.stderr.slice(0, 400))}`;
  const [line] = lines;
  if (!line.startsWith('error: ')) return `stderr does not start with 'error: ': ${line}`;
  if (/\n\s+at |^\s+at /.test(r.stderr)) return `stack trace: ${line}`;
  if (/internal error/.test(line)) return `unanticipated exception: ${line}`;
  if (!line.includes(mustName) && !/'[^']+'/.test(line)) return `names nothing: ${line}`;
  return null;
}

/** Map with bounded concurrency, results in input order. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
