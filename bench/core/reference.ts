// A float64 CPU forward of any torchvision ResNet (NCHW, BatchNorm in eval mode, not folded; basic
// or bottleneck blocks, grouped convolutions): the oracle the peers and our engine are checked
// against before any timing. Plain loops, written for clarity first and for a tolerable speed second
// (ResNet18 at 224, 1.8 G multiply-adds: seconds; ResNet50, 4.1 G: tens of seconds; cached by the runner).

import { type Architecture, BN_EPS, type ConvSpec, RESNET18, convOutputSize } from '../../src/model/architecture';
import type { HostTensor, TensorMap } from './weights';

interface Act {
  data: Float64Array;
  n: number;
  c: number;
  h: number;
  w: number;
}

function tensor(weights: TensorMap, name: string): Float32Array {
  const t = weights.get(name);
  if (!t) throw new Error(`reference forward: missing tensor '${name}'`);
  return t.data;
}

/** conv (no bias, `groups` groups) then BN(eval). */
function convBn(x: Act, weights: TensorMap, spec: ConvSpec): Act {
  const { kernel: k, stride, padding: pad, outChannels: oc } = spec;
  const wt = tensor(weights, `${spec.conv}.weight`);
  const groups = spec.groups ?? 1;
  const gin = x.c / groups;
  const gout = oc / groups;
  const oh = convOutputSize(x.h, k, stride, pad);
  const ow = convOutputSize(x.w, k, stride, pad);
  const out = new Float64Array(x.n * oc * oh * ow);
  const plane = oh * ow;
  for (let b = 0; b < x.n; b++) {
    for (let o = 0; o < oc; o++) {
      const acc = out.subarray((b * oc + o) * plane, (b * oc + o + 1) * plane);
      const first = Math.floor(o / gout) * gin; // the group's first input channel
      for (let i = 0; i < gin; i++) {
        const src = x.data.subarray((b * x.c + first + i) * x.h * x.w, (b * x.c + first + i + 1) * x.h * x.w);
        for (let ky = 0; ky < k; ky++) {
          for (let kx = 0; kx < k; kx++) {
            const wv = wt[((o * gin + i) * k + ky) * k + kx];
            // Output columns whose input column ox*stride - pad + kx lies inside [0, w).
            const x0 = Math.max(0, Math.ceil((pad - kx) / stride));
            const x1 = Math.min(ow - 1, Math.floor((x.w - 1 + pad - kx) / stride));
            for (let oy = 0; oy < oh; oy++) {
              const iy = oy * stride - pad + ky;
              if (iy < 0 || iy >= x.h) continue;
              const row = iy * x.w - pad + kx;
              const orow = oy * ow;
              for (let ox = x0; ox <= x1; ox++) acc[orow + ox] += wv * src[row + ox * stride];
            }
          }
        }
      }
    }
  }
  const gamma = tensor(weights, `${spec.bn}.weight`);
  const beta = tensor(weights, `${spec.bn}.bias`);
  const mean = tensor(weights, `${spec.bn}.running_mean`);
  const variance = tensor(weights, `${spec.bn}.running_var`);
  for (let b = 0; b < x.n; b++) {
    for (let o = 0; o < oc; o++) {
      const scale = gamma[o] / Math.sqrt(variance[o] + BN_EPS);
      const base = (b * oc + o) * plane;
      for (let p = 0; p < plane; p++) out[base + p] = (out[base + p] - mean[o]) * scale + beta[o];
    }
  }
  return { data: out, n: x.n, c: oc, h: oh, w: ow };
}

function relu(x: Act): Act {
  for (let i = 0; i < x.data.length; i++) if (x.data[i] < 0) x.data[i] = 0;
  return x;
}

/** 3x3, stride 2, padding 1 (PyTorch: padding never wins the max). */
function maxPool(x: Act): Act {
  const oh = convOutputSize(x.h, 3, 2, 1);
  const ow = convOutputSize(x.w, 3, 2, 1);
  const out = new Float64Array(x.n * x.c * oh * ow);
  for (let p = 0; p < x.n * x.c; p++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        let m = -Infinity;
        for (let ky = 0; ky < 3; ky++) {
          const iy = oy * 2 - 1 + ky;
          if (iy < 0 || iy >= x.h) continue;
          for (let kx = 0; kx < 3; kx++) {
            const ix = ox * 2 - 1 + kx;
            if (ix < 0 || ix >= x.w) continue;
            m = Math.max(m, x.data[(p * x.h + iy) * x.w + ix]);
          }
        }
        out[(p * oh + oy) * ow + ox] = m;
      }
    }
  }
  return { data: out, n: x.n, c: x.c, h: oh, w: ow };
}

/** Logits [N, classes] in float64. */
export function referenceForward(weights: TensorMap, input: HostTensor, arch: Architecture = RESNET18): Float64Array {
  const [n, c, h, w] = input.shape;
  let x: Act = { data: Float64Array.from(input.data), n, c, h, w };
  x = maxPool(relu(convBn(x, weights, arch.stem)));
  for (const block of arch.blocks) {
    // A ReLU after every branch convolution but the last.
    const y = block.branch.reduce((t, spec, i) => (i ? convBn(relu(t), weights, spec) : convBn(t, weights, spec)), x);
    const skip = block.downsample ? convBn(x, weights, block.downsample) : x;
    for (let i = 0; i < y.data.length; i++) y.data[i] = Math.max(0, y.data[i] + skip.data[i]);
    x = y;
  }
  const pooled = new Float64Array(x.n * x.c);
  const plane = x.h * x.w;
  for (let p = 0; p < x.n * x.c; p++) {
    let s = 0;
    for (let i = 0; i < plane; i++) s += x.data[p * plane + i];
    pooled[p] = s / plane;
  }
  const fw = tensor(weights, 'fc.weight');
  const fb = tensor(weights, 'fc.bias');
  const classes = fb.length;
  const logits = new Float64Array(x.n * classes);
  for (let b = 0; b < x.n; b++) {
    for (let k = 0; k < classes; k++) {
      let s = fb[k];
      for (let i = 0; i < x.c; i++) s += fw[k * x.c + i] * pooled[b * x.c + i];
      logits[b * classes + k] = s;
    }
  }
  return logits;
}
