// The scheduler examples (issue 16), tested as far as a machine without Kubernetes, SLURM or Docker
// allows: the Kubernetes YAML parsed and its fields checked (Indexed Job, completions = parallelism =
// the N of --shard auto/N, the out folder per index, the merge Job listing every shard, the volume);
// the Dockerfiles' bases, packages and entry point; the SLURM scripts through `bash -n`; and then the
// commands they contain run side by side here (Kubernetes' $(JOB_COMPLETION_INDEX) expanded and set as
// it does; the SLURM array task with a fake SLURM_ARRAY_TASK_ID; sbatch replaced by a recorder), each
// merge byte-identical to the unsharded run. Small: 8 generated stimuli, random weights, block 1.1,
// k 2, N reduced from 8 to 3.

import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { generateStimuli } from '../src/analysis/stimuli';
import { encodePngRgb } from '../src/featureviz/png';
import { writePth } from '../src/weights/pth-writer';
import { randomWeights } from '../src/weights/random';
import { CLI_PATH } from './helpers/cli';

const ROOT = resolve(__dirname, '..');
const K8S = join(ROOT, 'examples/kubernetes');
const SLURM = join(ROOT, 'examples/slurm');
const dir = mkdtempSync(join(tmpdir(), 'resnet-stream-examples-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const SMALL = ['--limit', '8', '--blocks', '1.1', '--top-k', '2', '--batch', '4'];
const N = 3;

function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  return new Promise((ok) => child.on('close', (code) => ok({ code, stderr })));
}

const yamlOf = (name: string) => parse(readFileSync(join(K8S, name), 'utf8'));
const analyzeJob = yamlOf('analyze-job.yaml');
const mergeJob = yamlOf('merge-job.yaml');
const container = (job: any) => job.spec.template.spec.containers[0];

/** The shared volume, here: /data/weights, /data/imagenet/val (8 stimuli as PNG), /data/runs. */
function dataVolume(): string {
  const data = join(dir, 'data');
  mkdirSync(join(data, 'weights'), { recursive: true });
  writeFileSync(join(data, 'weights/resnet18-f37072fd.pth'), writePth(randomWeights(11)));
  mkdirSync(join(data, 'imagenet/val'), { recursive: true });
  for (const s of generateStimuli().slice(0, 8)) writeFileSync(join(data, 'imagenet/val', s.name), encodePngRgb(s.data, s.width, s.height));
  return data;
}

describe('Kubernetes example', () => {
  it('is an Indexed Job of N shards, each to its own folder on the shared volume, then a merge Job of the same N', () => {
    expect(analyzeJob).toMatchObject({ apiVersion: 'batch/v1', kind: 'Job', spec: { completionMode: 'Indexed' } });
    const args: string[] = container(analyzeJob).args;
    const n = Number(/^auto\/(\d+)$/.exec(args[args.indexOf('--shard') + 1])?.[1]);
    expect(n).toBe(8);
    expect(analyzeJob.spec.completions).toBe(n);
    expect(analyzeJob.spec.parallelism).toBe(n);
    expect(args[0]).toBe('analyze');
    expect(args[args.indexOf('--out') + 1]).toBe('/data/runs/imagenet-val/shard-$(JOB_COMPLETION_INDEX)');
    expect(container(analyzeJob).resources.limits['nvidia.com/gpu']).toBe(1);
    const merge: string[] = container(mergeJob).args;
    expect(merge.slice(0, 3)).toEqual(['merge', '--out', '/data/runs/imagenet-val/merged']);
    expect(merge.slice(3)).toEqual(Array.from({ length: n }, (_, k) => `/data/runs/imagenet-val/shard-${k}`));
    for (const job of [analyzeJob, mergeJob]) {
      const spec = job.spec.template.spec;
      expect(container(job).volumeMounts).toEqual([{ name: 'data', mountPath: '/data' }]);
      expect(spec.volumes).toEqual([{ name: 'data', persistentVolumeClaim: { claimName: 'resnet-stream-data' } }]);
      expect(['Never', 'OnFailure']).toContain(spec.restartPolicy);
    }
    expect(container(analyzeJob).image).toBe('resnet-stream:gpu');
    expect(container(mergeJob).image).toBe('resnet-stream:cpu');
    expect(yamlOf('storage.yaml')).toMatchObject({ kind: 'PersistentVolumeClaim', metadata: { name: 'resnet-stream-data' }, spec: { accessModes: ['ReadWriteMany'] } });
  });

  it('has Dockerfiles on Debian bookworm with Node 20: the GPU one with the Vulkan loader, the CPU one with lavapipe', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    for (const [name, needs] of [['Dockerfile.gpu', [/NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics/]], ['Dockerfile.cpu', [/-t bookworm-backports mesa-vulkan-drivers/]]] as const) {
      const text = readFileSync(join(K8S, name), 'utf8');
      expect(text).toMatch(/^FROM node:20-bookworm-slim$/m);
      expect(text).toMatch(/apt-get install -y --no-install-recommends .*libvulkan1/);
      expect(text).toMatch(/^ENTRYPOINT \["node", "\/opt\/resnet-stream\/dist\/cli\.js"\]$/m);
      expect(text).toMatch(/npm ci/);
      expect(text).toMatch(/npm run build/);
      for (const n of needs) expect(text).toMatch(n);
    }
    expect(pkg.scripts.build).toBeTruthy();
    expect(Number(pkg.engines.node.replace(/\D/g, ''))).toBeLessThanOrEqual(20);
  });

  it('names no package registry or archive host in any example file', () => {
    for (const folder of [K8S, SLURM]) {
      for (const f of readdirSync(folder)) {
        const text = readFileSync(join(folder, f), 'utf8').replace(/nvidia\.com\/gpu/g, '');
        expect(text, f).not.toMatch(/\b[a-z0-9-]+\.(org|com|io|net|dev)\b/i);
      }
    }
  });

  it('runs its commands side by side here: N shards with JOB_COMPLETION_INDEX set, then the merge, byte-identical to the unsharded run', async () => {
    const data = dataVolume();
    // Kubernetes expands $(VAR) in args from the container's environment, which holds JOB_COMPLETION_INDEX.
    const local = (a: string, k?: number) => a.replace(/^\/data\//, `${data}/`).replace('$(JOB_COMPLETION_INDEX)', String(k));
    const shardArgs = (k: number) => (container(analyzeJob).args as string[]).map((a) => local(a, k))
      .map((a) => (a === 'auto/8' ? `auto/${N}` : a === 'gpu' ? 'default' : a));
    const whole = shardArgs(0).filter((_a, i, all) => all[i] !== '--shard' && all[i - 1] !== '--shard')
      .map((a) => (a.endsWith('/shard-0') ? join(data, 'runs/whole') : a));
    const t0 = performance.now();
    const exits = await Promise.all([
      run(process.execPath, [CLI_PATH, ...whole, ...SMALL]),
      ...Array.from({ length: N }, (_, k) => run(process.execPath, [CLI_PATH, ...shardArgs(k), ...SMALL], { JOB_COMPLETION_INDEX: String(k) })),
    ]);
    for (const e of exits) expect(e.code, e.stderr).toBe(0);
    expect(exits[2].stderr).toMatch(/shard 1\/3 \(from \$JOB_COMPLETION_INDEX=1\)/);
    const mergeArgs = (container(mergeJob).args as string[]).slice(0, 3 + N).map((a) => local(a));
    const merged = await run(process.execPath, [CLI_PATH, ...mergeArgs]);
    expect(merged.code, merged.stderr).toBe(0);
    for (const name of ['analysis.json', 'block-1.1.csv', 'index.html']) {
      expect(readFileSync(join(data, 'runs/imagenet-val/merged', name)).equals(readFileSync(join(data, 'runs/whole', name))), name).toBe(true);
    }
    console.log(`Kubernetes example's commands, ${N} shards + unsharded side by side: ${((performance.now() - t0) / 1000).toFixed(1)} s; merged byte-identical`);
  }, 600_000);
});

describe('SLURM example', () => {
  it('parses (bash -n), is an array of N tasks whose merge waits for all of them (afterok)', () => {
    for (const f of ['analyze-array.sh', 'merge.sh', 'submit.sh']) execFileSync('bash', ['-n', join(SLURM, f)]);
    const array = readFileSync(join(SLURM, 'analyze-array.sh'), 'utf8');
    expect(array).toMatch(/^#SBATCH --array=0-7$/m);
    expect(array).toMatch(/SHARDS=\$\{SHARDS:-\$\{SLURM_ARRAY_TASK_COUNT:-8\}\}/);
    expect(array).toMatch(/--shard "auto\/\$SHARDS" --out "\$RUN\/shard-\$K"/);
    expect(readFileSync(join(SLURM, 'merge.sh'), 'utf8')).toMatch(/SHARDS=\$\{SHARDS:-8\}/);
  });

  it('runs the array tasks side by side with a fake SLURM_ARRAY_TASK_ID, then the merge: byte-identical to the unsharded run', async () => {
    const data = join(dir, 'data'); // made by the Kubernetes run above, with its unsharded result
    const env = {
      SHARDS: String(N), RESNET_STREAM: `${process.execPath} ${CLI_PATH}`, WEIGHTS: join(data, 'weights/resnet18-f37072fd.pth'),
      IMAGES: join(data, 'imagenet/val'), RUN: join(dir, 'slurm-run'), OPTIONS: SMALL.join(' '),
    };
    // The array numbered from 1, as some sites do: shard K is task K + 1.
    const exits = await Promise.all(Array.from({ length: N }, (_, k) => run('bash', [join(SLURM, 'analyze-array.sh')],
      { ...env, SLURM_ARRAY_TASK_ID: String(k + 1), SLURM_ARRAY_TASK_MIN: '1' })));
    for (const e of exits) expect(e.code, e.stderr).toBe(0);
    expect(exits[0].stderr).toMatch(/shard 0\/3 \(from \$SLURM_ARRAY_TASK_ID=1 - \$SLURM_ARRAY_TASK_MIN=1\)/);
    const merged = await run('bash', [join(SLURM, 'merge.sh')], env);
    expect(merged.code, merged.stderr).toBe(0);
    for (const name of ['analysis.json', 'block-1.1.csv', 'index.html']) {
      expect(readFileSync(join(dir, 'slurm-run/merged', name)).equals(readFileSync(join(data, 'runs/whole', name))), name).toBe(true);
    }
    // submit.sh with sbatch recording its arguments: the merge depends on the array (afterok).
    const bin = join(dir, 'bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'sbatch'), `#!/bin/bash\necho "$*" >> "${join(dir, 'sbatch.log')}"\necho "4242;cluster"\n`);
    chmodSync(join(bin, 'sbatch'), 0o755);
    execFileSync('bash', [join(SLURM, 'submit.sh')], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, SHARDS: '3' } });
    expect(readFileSync(join(dir, 'sbatch.log'), 'utf8').trim().split('\n')).toEqual([
      '--parsable --export=ALL --array=0-2 analyze-array.sh',
      '--export=ALL --dependency=afterok:4242 merge.sh',
    ]);
  }, 600_000);
});
