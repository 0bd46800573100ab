#!/usr/bin/env node
// `npm run demo`: serves the built demo page (dist/demo) on 127.0.0.1 and, under /weights/, the
// checkpoints this machine has (any of torchvision's ResNets), so the page's URL field can default to one:
//   --weights FILE (repeatable), RESNET_STREAM_WEIGHTS, the download cache ($RESNET_STREAM_CACHE or
//   ~/.cache/resnet-stream/resnet18-f37072fd.pth, what `node weights/download.mjs` writes), and the
//   project's shared partial checkpoint (../shared/data/weights/) where it exists.
// Options: --port N (default 8417; 0 = any free port), --root DIR (default dist/demo), --no-build,
// --analysis DIR (an analysis folder of `resnet-stream analyze`, served under /analysis/ and offered to
// the page: its analysis.json, and its site/ that the page links a channel's page into).
// Prints the page's URL. GET and HEAD only, no directory listings, nothing outside the root.
import { createServer } from 'node:http';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..');

function parseArgs(argv) {
  const o = { port: Number(process.env.PORT ?? 8417), root: join(repo, 'dist', 'demo'), weights: [], build: true, analysis: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--port') o.port = Number(value());
    else if (a === '--root') o.root = resolve(value());
    else if (a === '--weights') o.weights.push(resolve(value()));
    else if (a === '--no-build') o.build = false;
    else if (a === '--analysis') o.analysis = resolve(value());
    else if (a === '--help' || a === '-h') {
      console.log('usage: node demo/serve.mjs [--port N] [--root DIR] [--weights FILE]... [--analysis DIR] [--no-build]');
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) throw new Error(`bad port ${o.port}`);
  return o;
}

/** Checkpoints to offer, best first (full before partial), each served as /weights/<name>. */
function findWeights(explicit) {
  const cacheDir = process.env.RESNET_STREAM_CACHE ?? join(homedir(), '.cache', 'resnet-stream');
  const candidates = [
    ...explicit,
    process.env.RESNET_STREAM_WEIGHTS,
    join(cacheDir, 'resnet18-f37072fd.pth'),
    join(repo, '..', 'shared', 'data', 'weights', 'resnet18-imagenet1k-v1-partial.pth'),
  ].filter(Boolean).map((p) => resolve(p));
  const files = new Map();
  for (const path of candidates) {
    if (!existsSync(path) || !statSync(path).isFile()) {
      if (explicit.includes(path)) throw new Error(`--weights ${path}: no such file`);
      continue;
    }
    const name = basename(path);
    if (!files.has(name)) files.set(name, path);
  }
  return files;
}

const MIME = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8', '.json': 'application/json; charset=utf-8', '.png': 'image/png',
  '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.svg': 'image/svg+xml',
};

export async function serveDemo(options) {
  const o = { ...parseArgs([]), ...options };
  if (o.build) {
    const { buildDemo } = await import('./build.mjs');
    await buildDemo({ outdir: o.root });
  }
  if (!existsSync(join(o.root, 'index.html'))) throw new Error(`${o.root}/index.html not found: run npm run build first`);
  const weights = findWeights(o.weights);
  const weightUrls = [...weights.keys()].map((n) => `/weights/${encodeURIComponent(n)}`);
  const root = resolve(o.root);
  const analysisRoot = o.analysis ? resolve(o.analysis) : null;
  if (analysisRoot && !existsSync(join(analysisRoot, 'analysis.json'))) throw new Error(`--analysis ${analysisRoot}: no analysis.json there`);
  const server = createServer((req, res) => {
    const fail = (status, text) => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(text);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return fail(405, 'method not allowed');
    let pathname;
    try {
      pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      return fail(400, 'bad url');
    }
    let file;
    if (pathname.startsWith('/weights/')) {
      file = weights.get(pathname.slice('/weights/'.length));
      if (!file) return fail(404, `no weights named ${pathname.slice(9)}`);
    } else {
      const [base, rest] = analysisRoot && pathname.startsWith('/analysis/') ? [analysisRoot, pathname.slice('/analysis'.length)] : [root, pathname];
      file = normalize(join(base, rest));
      if (file !== base && !file.startsWith(base + sep)) return fail(403, 'forbidden');
      if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
      if (!existsSync(file) || !statSync(file).isFile()) return fail(404, `not found: ${pathname}`);
    }
    const type = MIME[extname(file).toLowerCase()] ?? 'application/octet-stream';
    if (file === join(root, 'index.html')) {
      // Offer the weights this server has: the page's URL field defaults to the first.
      const html = readFileSync(file, 'utf8').replace('<meta name="resnet-stream:weights" content="">',
        `<meta name="resnet-stream:weights" content="${weightUrls.join(' ')}">`)
        .replace('<meta name="resnet-stream:analysis" content="">', `<meta name="resnet-stream:analysis" content="${analysisRoot ? '/analysis/' : ''}">`);
      const body = Buffer.from(html);
      res.writeHead(200, { 'content-type': type, 'content-length': body.length, 'cache-control': 'no-store' });
      return res.end(req.method === 'HEAD' ? undefined : body);
    }
    res.writeHead(200, { 'content-type': type, 'content-length': statSync(file).size, 'cache-control': 'no-store' });
    if (req.method === 'HEAD') return res.end();
    createReadStream(file).on('error', () => res.destroy()).pipe(res);
  });
  await new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(o.port, '127.0.0.1', ok);
  });
  const url = `http://127.0.0.1:${server.address().port}/`;
  return { url, server, weights, analysis: analysisRoot };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const { url, weights, analysis } = await serveDemo(parseArgs(process.argv.slice(2)));
    for (const [name, path] of weights) console.log(`weights: /weights/${name} -> ${path}`);
    if (analysis) console.log(`analysis: /analysis/ -> ${analysis}`);
    if (!weights.size) console.log('weights: none found here (node weights/download.mjs fetches them); the page takes a file or a URL');
    console.log(`resnet-stream demo: ${url}`);
    console.log('(WebGPU needs a browser that has it: Chrome/Edge 113+, or Chromium with --enable-unsafe-webgpu)');
  } catch (e) {
    console.error(`demo: ${e.message}`);
    process.exit(1);
  }
}
