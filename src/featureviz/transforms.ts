// Lucent's random transforms for render_vis, as the paper's code configures them (METHOD.md), with
// their adjoints, for a batch in which every image draws its own random parameters.
//
//   jitter j < 4:  random_scale(1, 0.975, 1.025, 0.95, 1.05), random_rotate(-5..5 degrees)
//   jitter j >= 4: pad(j, reflect), jitter(j), random_scale, random_rotate, jitter(j/2), crop(224)
//   then ImageNet normalisation.
//
// Geometry (kornia / F.interpolate semantics) is in affine.ts; every step but the reflect pad is
// one affine-resample dispatch. The crop after the last jitter is folded into that jitter's
// sampling map (an integer translation of its output grid; the values are the same).
//
// Batching: the network needs one input size per launch. With j >= 4 the crop makes it 224 for
// any draws, so the scale is drawn per image (images of a batch differ in size in between, stored
// at a fixed stride). With j < 4 the scale sets the network's input size (224, 225, 230 or 236),
// so one scale is drawn per step for the whole batch; rotations stay per image.

import { type Dispatch, type GpuContext } from '../gpu/context';
import { type ResampleGeometry, type ResampleLayout, affineResampleDispatch, packResampleGeometry } from '../kernels/affine-resample';
import { affineResampleBackwardDispatch } from '../kernels/affine-resample-backward';
import { imageNormalizeDispatch } from '../kernels/image-normalize';
import { imageNormalizeBackwardDispatch } from '../kernels/image-normalize-backward';
import { reflectPadDispatch } from '../kernels/reflect-pad';
import { reflectPadBackwardDispatch } from '../kernels/reflect-pad-backward';
import { IMAGENET_MEAN, IMAGENET_STD } from '../model/architecture';
import {
  affineRows, centreCropOffset, interpolateSampling, rotateSampling, scaledExtent, translateSampling,
} from './affine';
import { mat3d } from 'wgpu-matrix';
import type { Rng } from '../util/random';

export const LUCENT_SCALES: readonly number[] = [1, 0.975, 1.025, 0.95, 1.05];
export const LUCENT_ANGLES: readonly number[] = [-5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5];

/** METHOD.md: j = 0 for layer1.* and layer2.0.*; 4 for layer2.1.* and layer3.0.*; 16 for layer3.1.* and layer4.*
 * (in any member of the family: by stage and position, "Beyond ResNet18"). */
export function jitterForTap(tap: string): number {
  const m = /^layer(\d+)\.(\d+)/.exec(tap);
  if (!m) {
    if (tap === 'avgpool' || tap === 'fc') return 16;
    return 0; // input and the stem come before layer1
  }
  const stage = Number(m[1]);
  const index = Number(m[2]);
  if (stage === 1 || (stage === 2 && index === 0)) return 0;
  if (stage === 2 || (stage === 3 && index === 0)) return 4; // layer2.1 .. layer2.7 in the deeper members
  return 16;
}

export interface TransformConfig {
  /** Lucent jitter j (METHOD.md): below 4, only scale and rotate. */
  jitter: number;
  /** The parameterised image's size (224). */
  size: number;
  /** The final crop for j >= 4 (224). */
  crop: number;
  scales: readonly number[];
  angles: readonly number[];
}

/** The paper's transforms for jitter j on a size x size image; the final crop is back to `size` (224). */
export function lucentTransformConfig(jitter: number, size = 224): TransformConfig {
  return { jitter, size, crop: size, scales: LUCENT_SCALES, angles: LUCENT_ANGLES };
}

/** One image's random draws for one optimisation step. */
export interface ImageDraw {
  jitter1: [number, number];
  scale: number;
  angle: number;
  jitter2: [number, number];
}

/**
 * One step's draws (np.random.choice semantics), image n from its own generator `imageRngs[n]`;
 * with j < 4 the scale sets the network's input size and is drawn once, from `shared`.
 */
export function drawTransformsPerImage(config: TransformConfig, imageRngs: Rng[], shared: Rng): ImageDraw[] {
  const j = config.jitter;
  const sharedScale = j < 4 ? shared.choice(config.scales) : 0;
  const half = Math.trunc(j / 2);
  return imageRngs.map((rng) => ({
    jitter1: j >= 4 ? [rng.int(j), rng.int(j)] as [number, number] : [0, 0] as [number, number],
    scale: j >= 4 ? rng.choice(config.scales) : sharedScale,
    angle: rng.choice(config.angles),
    jitter2: j >= 4 ? [rng.int(half), rng.int(half)] as [number, number] : [0, 0] as [number, number],
  }));
}

/** One step's draws for a batch, every image from the one generator (tests, simple uses). */
export function drawTransforms(config: TransformConfig, batch: number, rng: Rng): ImageDraw[] {
  return drawTransformsPerImage(config, Array.from({ length: batch }, () => rng), rng);
}

/** The network's input size for a draw (all images of a batch agree). */
export function networkInputSize(config: TransformConfig, draw: ImageDraw): number {
  return config.jitter >= 4 ? config.crop : scaledExtent(config.size, draw.scale).out;
}

/** Every network input size the config can produce (one for j >= 4). */
export function possibleInputSizes(config: TransformConfig): number[] {
  if (config.jitter >= 4) return [config.crop];
  return [...new Set(config.scales.map((s) => scaledExtent(config.size, s).out))].sort((a, b) => a - b);
}

export type TransformStep =
  | { kind: 'reflect-pad'; pad: number; inSize: number; outSize: number }
  | { kind: 'resample'; name: string; srcStride: number; dstStride: number; geometry: (d: ImageDraw) => ResampleGeometry };

const full = (h: number, w: number) => ({ x0: 0, y0: 0, x1: w, y1: h });

/**
 * The steps from the parameterised image (config.size) to a network input of `outSize`, with the
 * fixed tensor strides each step uses and each image's geometry as a function of its draws.
 */
export function transformSteps(config: TransformConfig, outSize: number): TransformStep[] {
  const size = config.size;
  const scaleStep = (inSize: number, stride: number): TransformStep => ({
    kind: 'resample', name: 'random scale', srcStride: inSize, dstStride: stride,
    geometry: (d) => {
      const e = scaledExtent(inSize, d.scale);
      return {
        srcHeight: inSize, srcWidth: inSize, dstHeight: e.out, dstWidth: e.out,
        window: { x0: e.pad, y0: e.pad, x1: e.pad + e.scaled, y1: e.pad + e.scaled },
        map: affineRows(interpolateSampling(inSize, inSize, e.scaled, e.scaled, e.pad)),
      };
    },
  });
  const rotateStep = (sizeOf: (d: ImageDraw) => number, stride: number): TransformStep => ({
    kind: 'resample', name: 'random rotate', srcStride: stride, dstStride: stride,
    geometry: (d) => {
      const e = sizeOf(d);
      return { srcHeight: e, srcWidth: e, dstHeight: e, dstWidth: e, window: full(e, e), map: affineRows(rotateSampling(d.angle, e, e)) };
    },
  });
  if (config.jitter < 4) {
    return [
      scaleStep(size, outSize),
      rotateStep(() => outSize, outSize),
    ];
  }
  const j = config.jitter;
  const padded = size + 2 * j;
  const extent = (d: ImageDraw) => scaledExtent(padded, d.scale).out;
  const maxExtent = Math.max(...config.scales.map((s) => scaledExtent(padded, s).out));
  const crop = config.crop;
  return [
    { kind: 'reflect-pad', pad: j, inSize: size, outSize: padded },
    {
      kind: 'resample', name: `jitter ${j}`, srcStride: padded, dstStride: padded,
      geometry: (d) => ({
        srcHeight: padded, srcWidth: padded, dstHeight: padded, dstWidth: padded, window: full(padded, padded),
        map: affineRows(translateSampling(d.jitter1[0], d.jitter1[1], padded, padded)),
      }),
    },
    scaleStep(padded, maxExtent),
    rotateStep(extent, maxExtent),
    {
      kind: 'resample', name: `jitter ${Math.trunc(j / 2)} + crop ${crop}`, srcStride: maxExtent, dstStride: crop,
      geometry: (d) => {
        const e = extent(d);
        const offset = centreCropOffset(e, crop);
        const jitter = translateSampling(d.jitter2[0], d.jitter2[1], e, e);
        return {
          srcHeight: e, srcWidth: e, dstHeight: crop, dstWidth: crop, window: full(crop, crop),
          map: affineRows(mat3d.multiply(jitter, mat3d.translation([offset, offset]))),
        };
      },
    },
  ];
}

export interface TransformBuffers {
  /** The sigmoid image [N, 3, size, size]. */
  image: GPUBuffer;
  /** The normalised network input [N, 3, outSize, outSize]. */
  networkInput: GPUBuffer;
  /** dL/d(network input). */
  networkInputGrad: GPUBuffer;
  /** dL/d(image), written by the backward. */
  imageGrad: GPUBuffer;
}

/**
 * The transforms of one (config, batch, network input size) on the GPU: prepared forward and
 * backward dispatches over two scratch buffers, and per-step geometry buffers that setDraws()
 * rewrites every optimisation step.
 */
export class TransformPipeline {
  readonly steps: TransformStep[];
  readonly forward: Dispatch[] = [];
  readonly backward: Dispatch[] = [];
  private readonly geometry: (GPUBuffer | null)[] = [];
  private readonly scratch: GPUBuffer[];

  constructor(private readonly ctx: GpuContext, readonly config: TransformConfig, readonly batch: number,
    readonly outSize: number, b: TransformBuffers) {
    this.steps = transformSteps(config, outSize);
    let largest = config.size * config.size;
    for (const s of this.steps) {
      largest = Math.max(largest, s.kind === 'resample' ? Math.max(s.srcStride, s.dstStride) ** 2 : s.outSize ** 2);
    }
    const bytes = batch * 3 * largest * 4;
    this.scratch = [ctx.acquire('fv transform scratch A', bytes), ctx.acquire('fv transform scratch B', bytes)];
    const norm = { batch, height: outSize, width: outSize, mean: IMAGENET_MEAN, std: IMAGENET_STD };

    // Forward: image -> step 1 -> ... -> step k (ping-pong A/B) -> normalise -> network input.
    let current = b.image;
    this.steps.forEach((s, i) => {
      const out = this.scratch[i % 2];
      if (s.kind === 'reflect-pad') {
        this.geometry.push(null);
        this.forward.push(reflectPadDispatch(ctx, { planes: batch * 3, height: s.inSize, width: s.inSize, pad: s.pad },
          { input: current, output: out }, `fv reflect pad ${s.pad}`));
      } else {
        const g = ctx.device.createBuffer({ label: `fv ${s.name} geometry`, size: batch * 96, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
        this.geometry.push(g);
        this.forward.push(affineResampleDispatch(ctx, this.layout(s), { images: g, input: current, output: out }, `fv ${s.name}`));
      }
      current = out;
    });
    this.forward.push(imageNormalizeDispatch(ctx, norm, { input: current, output: b.networkInput }, 'fv normalize'));

    // Backward: network input grad -> normalise^T -> step k^T -> ... -> step 1^T -> image grad.
    const k = this.steps.length;
    let grad = this.scratch[0];
    this.backward.push(imageNormalizeBackwardDispatch(ctx, norm, { gradOutput: b.networkInputGrad, gradInput: grad }, 'fv normalize backward'));
    for (let i = k - 1; i >= 0; i--) {
      const s = this.steps[i];
      const out = i === 0 ? b.imageGrad : grad === this.scratch[0] ? this.scratch[1] : this.scratch[0];
      if (s.kind === 'reflect-pad') {
        this.backward.push(reflectPadBackwardDispatch(ctx, { planes: batch * 3, height: s.inSize, width: s.inSize, pad: s.pad },
          { gradOutput: grad, gradInput: out }, `fv reflect pad ${s.pad} backward`));
      } else {
        this.backward.push(affineResampleBackwardDispatch(ctx, this.layout(s),
          { images: this.geometry[i]!, gradOutput: grad, gradInput: out }, `fv ${s.name} backward`));
      }
      grad = out;
    }
  }

  private layout(s: Extract<TransformStep, { kind: 'resample' }>): ResampleLayout {
    return { batch: this.batch, channels: 3, srcStrideH: s.srcStride, srcStrideW: s.srcStride, dstStrideH: s.dstStride, dstStrideW: s.dstStride };
  }

  /** Per-image geometry of every step for this optimisation step's draws. */
  geometryFor(draws: ImageDraw[]): (ResampleGeometry[] | null)[] {
    for (const d of draws) {
      const size = networkInputSize(this.config, d);
      if (size !== this.outSize) throw new Error(`draw gives a ${size}x${size} network input; this pipeline is for ${this.outSize}`);
    }
    return this.steps.map((s) => (s.kind === 'resample' ? draws.map((d) => s.geometry(d)) : null));
  }

  setDraws(draws: ImageDraw[]): void {
    if (draws.length !== this.batch) throw new Error(`${draws.length} draws for a batch of ${this.batch}`);
    this.geometryFor(draws).forEach((g, i) => {
      if (g) this.ctx.device.queue.writeBuffer(this.geometry[i]!, 0, packResampleGeometry(g));
    });
  }

  dispose(): void {
    for (const s of this.scratch) this.ctx.release(s);
    for (const g of this.geometry) g?.destroy();
  }
}
