// Where the CLI's weights come from (src/weights/resolve-node.ts) and the download script
// (weights/download.mjs), against a local HTTP server: these machines cannot reach the real URL.

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveWeightsPath } from '../src/weights/resolve-node';
import { downloadWeights, offlineAdvice } from '../weights/download.mjs';

const SCRIPT = fileURLToPath(new URL('../weights/download.mjs', import.meta.url));
const BODY = new Uint8Array(300_000).map((_, i) => (i * 7919) % 251);
const BODY_SHA = createHash('sha256').update(BODY).digest('hex');
const OFFLINE = 'Copy resnet18-f37072fd.pth from a machine that has it and pass --weights FILE or set RESNET_STREAM_WEIGHTS=FILE';

let server: Server;
let base = '';
let closedPort = 0;
const scratch = mkdtempSync(join(tmpdir(), 'resnet-stream-weights-'));

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/file') {
      res.writeHead(200, { 'content-length': BODY.length });
      res.end(BODY);
    } else if (req.url === '/hang') {
      // never answers
    } else if (req.url === '/stall') {
      res.writeHead(200, { 'content-length': BODY.length });
      res.write(BODY.subarray(0, 1000));
    } else {
      res.writeHead(404);
      res.end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  closedPort = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  rmSync(scratch, { recursive: true, force: true });
});

let dirs = 0;
const freshDir = () => join(scratch, `cache${dirs++}`);

async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    const message = (e as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('expected a failure');
}

function runScript(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [SCRIPT, ...args], { env: { ...process.env, RESNET_STREAM_CACHE: '' } }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('downloadWeights', () => {
  it('downloads, verifies the hash prefix and leaves a verified marker', async () => {
    const cacheDir = freshDir();
    const path = await downloadWeights({ url: `${base}/file`, cacheDir, sha256Prefix: BODY_SHA.slice(0, 8), progress: false });
    expect(path).toBe(join(cacheDir, 'resnet18-f37072fd.pth'));
    expect(createHash('sha256').update(readFileSync(path)).digest('hex')).toBe(BODY_SHA);
    expect(JSON.parse(readFileSync(`${path}.verified`, 'utf8')).sha256).toBe(BODY_SHA);
    expect(readdirSync(cacheDir).sort()).toEqual(['resnet18-f37072fd.pth', 'resnet18-f37072fd.pth.verified']);
  });

  it('deletes a file whose hash does not match', async () => {
    const cacheDir = freshDir();
    const message = await failure(downloadWeights({ url: `${base}/file`, cacheDir, progress: false }));
    expect(message).toBe(`downloaded ${base}/file, but its sha256 ${BODY_SHA.slice(0, 16)}... does not start with f37072fd: deleted it. Try again, or c${OFFLINE.slice(1)}`);
    expect(readdirSync(cacheDir)).toEqual([]);
  });

  it('says what to do when there is no route, no answer, a stall or an HTTP error', async () => {
    const cacheDir = freshDir();
    const refused = await failure(downloadWeights({ url: `http://127.0.0.1:${closedPort}/x.pth`, cacheDir, progress: false }));
    expect(refused).toBe(`could not download http://127.0.0.1:${closedPort}/x.pth: ECONNREFUSED. ${OFFLINE}`);
    expect(await failure(downloadWeights({ url: `${base}/hang`, cacheDir, timeoutMs: 300, progress: false }))).toBe(`could not download ${base}/hang: no data for 0.3 s. ${OFFLINE}`);
    expect(await failure(downloadWeights({ url: `${base}/stall`, cacheDir, timeoutMs: 1000, progress: false }))).toMatch(
      new RegExp(`^could not download ${base}/stall: interrupted after 1000 bytes \\(.*\\)\\. Copy resnet18`),
    );
    expect(await failure(downloadWeights({ url: `${base}/missing`, cacheDir, progress: false }))).toBe(`could not download ${base}/missing: HTTP 404 Not Found. ${OFFLINE}`);
    expect(readdirSync(cacheDir)).toEqual([]); // no .part files left behind
    expect(offlineAdvice()).toBe(OFFLINE);
  });
});

describe('weights/download.mjs as a script', () => {
  it('prints only the path on success, and fails in one line with exit code 1', async () => {
    const cacheDir = freshDir();
    const bad = await runScript(['--cache', cacheDir, '--url', `${base}/file`, '--quiet']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^download\.mjs: downloaded .* does not start with f37072fd: deleted it\./);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(join(cacheDir, 'resnet18-f37072fd.pth'))).toBe(false);
    const offline = await runScript(['--cache', cacheDir, '--url', `http://127.0.0.1:${closedPort}/`]);
    expect(offline.code).toBe(1);
    expect(offline.stderr.trim()).toBe(`download.mjs: could not download http://127.0.0.1:${closedPort}/: ECONNREFUSED. ${OFFLINE}`);
    expect((await runScript(['--nonsense'])).stderr).toMatch(/unknown argument '--nonsense'/);
  });

  it('reuses a cached file: trusted by its marker, refused when it fails the check', async () => {
    const cacheDir = freshDir();
    await downloadWeights({ url: `${base}/file`, cacheDir, sha256Prefix: BODY_SHA.slice(0, 8), progress: false });
    const cached = join(cacheDir, 'resnet18-f37072fd.pth');
    const failing = await runScript(['--cache', cacheDir, '--url', `http://127.0.0.1:${closedPort}/`]);
    expect(failing.code).toBe(1);
    expect(failing.stderr.trim()).toBe(`download.mjs: ${cached} fails its check: sha256 ${BODY_SHA.slice(0, 16)}... does not start with f37072fd; delete it and download again`);
    // A marker that vouches for the file (same size and mtime, an f37072fd hash): no download, only the path.
    const marker = JSON.parse(readFileSync(`${cached}.verified`, 'utf8'));
    writeFileSync(`${cached}.verified`, JSON.stringify({ ...marker, sha256: `f37072fd${BODY_SHA.slice(8)}` }));
    const ok = await runScript(['--cache', cacheDir, '--url', `http://127.0.0.1:${closedPort}/`]);
    expect([ok.code, ok.stdout, ok.stderr]).toEqual([0, `${cached}\n`, '']);
  });
});

describe('resolveWeightsPath', () => {
  const env = {};

  it('takes the --weights flag first, then RESNET_STREAM_WEIGHTS', async () => {
    const file = join(scratch, 'mine.pth');
    writeFileSync(file, 'x');
    expect(await resolveWeightsPath({ flag: file, env: { RESNET_STREAM_WEIGHTS: '/nope' } })).toBe(file);
    expect(await resolveWeightsPath({ env: { RESNET_STREAM_WEIGHTS: file } })).toBe(file);
    expect(await failure(resolveWeightsPath({ flag: join(scratch, 'absent.pth') }))).toBe(`--weights '${join(scratch, 'absent.pth')}': no such file`);
    expect(await failure(resolveWeightsPath({ env: { RESNET_STREAM_WEIGHTS: scratch } }))).toBe(`RESNET_STREAM_WEIGHTS '${scratch}' is not a file`);
  });

  it('uses the cache file, hashing it once, and refuses one that fails its check', async () => {
    const cacheDir = freshDir();
    const prefix = BODY_SHA.slice(0, 8);
    await downloadWeights({ url: `${base}/file`, cacheDir, sha256Prefix: prefix, progress: false });
    const cached = join(cacheDir, 'resnet18-f37072fd.pth');
    rmSync(`${cached}.verified`);
    const when = 1_700_000_000; // whole seconds, so setting the time again reproduces it exactly
    utimesSync(cached, when, when);
    expect(await resolveWeightsPath({ env, cacheDir, sha256Prefix: prefix })).toBe(cached);
    expect(existsSync(`${cached}.verified`)).toBe(true);
    // Same size and mtime: the marker is trusted, the bytes are not hashed again.
    writeFileSync(cached, new Uint8Array(BODY.length));
    utimesSync(cached, when, when);
    expect(await resolveWeightsPath({ env, cacheDir, sha256Prefix: prefix })).toBe(cached);
    // A changed mtime means the file changed: hash again, and it fails.
    utimesSync(cached, when, when + 5);
    expect(await failure(resolveWeightsPath({ env, cacheDir, sha256Prefix: prefix }))).toMatch(/fails its check: sha256 [0-9a-f]{16}\.\.\. does not start with [0-9a-f]{8}; delete it and download again$/);
  });

  it('downloads only when allowed, and otherwise says what to do', async () => {
    const cacheDir = freshDir();
    const message = await failure(resolveWeightsPath({ env: { RESNET_STREAM_CACHE: cacheDir } }));
    expect(message).toBe(
      `no ResNet18 weights: pass --weights FILE (a torchvision .pth or .safetensors state dict), set RESNET_STREAM_WEIGHTS=FILE, ` +
        `or run 'node weights/download.mjs' to fetch resnet18-f37072fd.pth into ${cacheDir} (offline: c${OFFLINE.slice(1)})`,
    );
    const path = await resolveWeightsPath({ env, cacheDir, allowDownload: true, url: `${base}/file`, sha256Prefix: BODY_SHA.slice(0, 8), progress: false });
    expect(path).toBe(join(cacheDir, 'resnet18-f37072fd.pth'));
    expect(await failure(resolveWeightsPath({ env, cacheDir: freshDir(), allowDownload: true, url: `http://127.0.0.1:${closedPort}/`, progress: false }))).toMatch(/: ECONNREFUSED\. Copy resnet18-f37072fd\.pth/);
  });
});
