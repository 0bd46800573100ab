// `resnet-stream inspect` (load and validate a checkpoint, no GPU) and the CLI's one-line errors:
// every expected failure is `error: <one line>` with exit 1 (2 for usage), and an unexpected
// exception is still one line, marked internal, with the RESNET_STREAM_DEBUG hint. No GPU needed.

import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError, errorLine } from '../src/cli/args';
import { CLI, ownLines, runCli } from './helpers/fuzz-cli';
import { PARTIAL_WEIGHTS } from './helpers/shared';

const FIXTURE = resolve(__dirname, 'fixtures/weights/resnet18-stem-layer1.0.pth');
const T = 20_000;

describe('errorLine', () => {
  it('is one line for every kind of thrown value', () => {
    expect(errorLine(new Error('w.pth: tensor \'x\' has shape [1]'))).toBe("error: w.pth: tensor 'x' has shape [1]");
    expect(errorLine(new UsageError('--out is required'))).toBe('error: --out is required');
    expect(errorLine(new Error('a\nb\r\n  c'))).toBe('error: a b c');
    expect(errorLine('a string')).toBe('error: a string');
    const enoent = Object.assign(new Error("ENOENT: no such file or directory, open '/x'"), { code: 'ENOENT', syscall: 'open', path: '/x' });
    expect(errorLine(enoent)).toBe("error: '/x': no such file");
    expect(errorLine(new TypeError("Cannot read properties of undefined (reading 'shape')")))
      .toBe("error: internal error (TypeError: Cannot read properties of undefined (reading 'shape')); set RESNET_STREAM_DEBUG=1 for the stack and please report it");
    expect(errorLine(new RangeError('Array buffer allocation failed'))).toMatch(/^error: internal error \(RangeError: /);
  });
});

const cliMissing = !existsSync(CLI);
if (cliMissing) console.log(`skipped: ${CLI} not built (npm run build)`);

describe.skipIf(cliMissing)('resnet-stream inspect and CLI errors (child processes, no GPU)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'resnet-stream-inspect-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('inspect describes the real torch.save fixture: format, counts, missing modules, computable taps', async () => {
    const r = await runCli(['inspect', '--weights', FIXTURE, '--tensors'], T);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const out = r.stdout;
    expect(out).toMatch(/^format: +torch\.save zip \(PyTorch >= 1\.6\)$/m);
    expect(out).toMatch(/^tensors: +16 of resnet18's 102$/m);
    expect(out).toMatch(/^parameters: +84,904 of 11,699,112$/m);
    expect(out).toMatch(/^missing: +86 tensor\(s\): all of layer1\.1, all of layer2\.0, .*all of layer4\.1, fc\.weight$/m);
    expect(out).toMatch(/^taps: +10 of 50 computable, through layer1\.0$/m);
    expect(out).toMatch(/^ {2}conv1\.weight +\[64, 3, 7, 7\] +min -?\d/m);
  });

  it.skipIf(!existsSync(PARTIAL_WEIGHTS))('inspect recognises the shared partial checkpoint by its hash', async () => {
    const r = await runCli(['inspect', '--weights', PARTIAL_WEIGHTS, '--json'], T);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.known).toMatch(/^resnet18-imagenet1k-v1-partial\.pth/);
    expect(report.missing).toEqual(['layer4.0.conv1.weight', 'layer4.0.conv2.weight', 'layer4.1.conv1.weight', 'layer4.1.conv2.weight']);
    expect(report.lastComputable).toBe('layer3.1');
    expect(report.computableTaps).toContain('layer3.1');
    expect(report.notComputableTaps).toContain('fc');
  });

  it('every expected failure is one `error:` line, exit 1, or exit 2 for usage', async () => {
    const notWeights = join(dir, 'not-weights.pth');
    writeFileSync(notWeights, 'this is not a checkpoint');
    const cases: [string[], number, RegExp][] = [
      [['inspect', '--weights', join(dir, 'absent.pth')], 1, /^error: --weights '.*absent\.pth': no such file$/],
      [['inspect', '--weights', dir], 1, /is not a file/],
      [['inspect', '--weights', notWeights], 1, /^error: not-weights\.pth: is an unknown format \(first bytes 74 68 69 73/],
      [['inspect', '--bogus'], 2, /^error: unknown option --bogus$/],
      [['inspect', '--weights'], 2, /^error: --weights needs a value$/],
      [['no-such-command'], 2, /^error: unknown command 'no-such-command' \(commands: .*inspect/],
      [['preprocess', '--image', FIXTURE], 2, /^error: --out is required$/],
      [['preprocess', '--image', FIXTURE, '--out', join(dir, 'o.safetensors')], 1, /^error: .*resnet18-stem-layer1\.0\.pth: not a JPEG or PNG image/],
      [['preprocess', '--image', join(dir, 'absent.jpg'), '--out', join(dir, 'o.safetensors')], 1, /^error: .*absent\.jpg: no such file$/],
    ];
    for (const [args, code, pattern] of cases) {
      const r = await runCli(args, T);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(code);
      const lines = ownLines(r.stderr);
      expect(lines, args.join(' ')).toHaveLength(1);
      expect(lines[0]).toMatch(pattern);
      expect(r.stderr).not.toMatch(/^\s+at |internal error/m);
    }
  });

  it('inspect --help prints its usage and exits 0', async () => {
    const r = await runCli(['inspect', '--help'], T);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: resnet-stream inspect/);
  });
});
