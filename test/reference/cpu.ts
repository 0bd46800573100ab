// The float64 CPU reference: straightforward loops, written for obviousness, not speed. Every
// kernel is checked against these. Tensors are NCHW Float64Arrays.

export function relu(x: ArrayLike<number>): Float64Array {
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = Math.max(x[i], 0);
  return y;
}

/** Shape of a 2D convolution (NCHW input, OIHW weights, square kernel, zero padding). */
export interface RefConvShape {
  batch: number;
  inChannels: number;
  inHeight: number;
  inWidth: number;
  outChannels: number;
  kernel: number;
  stride: number;
  padding: number;
}

/** Output height and width of a convolution or pooling window: floor((in + 2p - k) / s) + 1. */
export function windowOutputSize(inSize: number, kernel: number, stride: number, padding: number): number {
  return Math.floor((inSize + 2 * padding - kernel) / stride) + 1;
}

/** torch.nn.functional.conv2d: y[n,o,oy,ox] = bias[o] + sum_{c,ky,kx} x[n,c,oy*s-p+ky,ox*s-p+kx] * w[o,c,ky,kx]. */
export function conv2d(x: ArrayLike<number>, w: ArrayLike<number>, bias: ArrayLike<number> | null, s: RefConvShape): Float64Array {
  const oh = windowOutputSize(s.inHeight, s.kernel, s.stride, s.padding);
  const ow = windowOutputSize(s.inWidth, s.kernel, s.stride, s.padding);
  const y = new Float64Array(s.batch * s.outChannels * oh * ow);
  for (let n = 0; n < s.batch; n++) {
    for (let o = 0; o < s.outChannels; o++) {
      for (let oy = 0; oy < oh; oy++) {
        for (let ox = 0; ox < ow; ox++) {
          let sum = bias ? bias[o] : 0;
          for (let c = 0; c < s.inChannels; c++) {
            for (let ky = 0; ky < s.kernel; ky++) {
              const iy = oy * s.stride - s.padding + ky;
              if (iy < 0 || iy >= s.inHeight) continue;
              for (let kx = 0; kx < s.kernel; kx++) {
                const ix = ox * s.stride - s.padding + kx;
                if (ix < 0 || ix >= s.inWidth) continue;
                const xv = x[((n * s.inChannels + c) * s.inHeight + iy) * s.inWidth + ix];
                const wv = w[((o * s.inChannels + c) * s.kernel + ky) * s.kernel + kx];
                sum += xv * wv;
              }
            }
          }
          y[((n * s.outChannels + o) * oh + oy) * ow + ox] = sum;
        }
      }
    }
  }
  return y;
}

/** y[n,c,i] = x[n,c,i] * scale[c] + shift[c] over NC(spatial) tensors, then max(., 0) if relu. */
export function channelAffine(x: ArrayLike<number>, scale: ArrayLike<number>, shift: ArrayLike<number>,
  batch: number, channels: number, spatial: number, relu: boolean): Float64Array {
  const y = new Float64Array(batch * channels * spatial);
  for (let n = 0; n < batch; n++) {
    for (let c = 0; c < channels; c++) {
      for (let i = 0; i < spatial; i++) {
        const k = (n * channels + c) * spatial + i;
        const v = x[k] * scale[c] + shift[c];
        y[k] = relu ? Math.max(v, 0) : v;
      }
    }
  }
  return y;
}

/** Inference BatchNorm as PyTorch: (x - mean) / sqrt(var + eps) * gamma + beta, then max(., 0) if relu. */
export function batchnorm(x: ArrayLike<number>, p: { mean: ArrayLike<number>; variance: ArrayLike<number>;
  gamma: ArrayLike<number>; beta: ArrayLike<number> }, batch: number, channels: number, spatial: number,
  relu: boolean, eps = 1e-5): Float64Array {
  const y = new Float64Array(batch * channels * spatial);
  for (let n = 0; n < batch; n++) {
    for (let c = 0; c < channels; c++) {
      for (let i = 0; i < spatial; i++) {
        const k = (n * channels + c) * spatial + i;
        const v = (x[k] - p.mean[c]) / Math.sqrt(p.variance[c] + eps) * p.gamma[c] + p.beta[c];
        y[k] = relu ? Math.max(v, 0) : v;
      }
    }
  }
  return y;
}

/** torch.nn.MaxPool2d(kernel, stride, padding), floor mode: padding never wins (it is -inf). */
export function maxpool2d(x: ArrayLike<number>, s: { batch: number; channels: number; inHeight: number; inWidth: number;
  kernel: number; stride: number; padding: number }): Float64Array {
  const oh = windowOutputSize(s.inHeight, s.kernel, s.stride, s.padding);
  const ow = windowOutputSize(s.inWidth, s.kernel, s.stride, s.padding);
  const y = new Float64Array(s.batch * s.channels * oh * ow);
  for (let nc = 0; nc < s.batch * s.channels; nc++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        let m = -Infinity;
        for (let ky = 0; ky < s.kernel; ky++) {
          for (let kx = 0; kx < s.kernel; kx++) {
            const iy = oy * s.stride - s.padding + ky;
            const ix = ox * s.stride - s.padding + kx;
            if (iy < 0 || iy >= s.inHeight || ix < 0 || ix >= s.inWidth) continue;
            m = Math.max(m, x[(nc * s.inHeight + iy) * s.inWidth + ix]);
          }
        }
        y[(nc * oh + oy) * ow + ox] = m;
      }
    }
  }
  return y;
}

/** [N, C, H, W] -> [N, C]: the mean over each H x W plane. */
export function globalAvgPool(x: ArrayLike<number>, batch: number, channels: number, spatial: number): Float64Array {
  const y = new Float64Array(batch * channels);
  for (let nc = 0; nc < batch * channels; nc++) {
    let sum = 0;
    for (let i = 0; i < spatial; i++) sum += x[nc * spatial + i];
    y[nc] = sum / spatial;
  }
  return y;
}

/** y = a + b element-wise, then max(., 0) if relu. */
export function add(a: ArrayLike<number>, b: ArrayLike<number>, relu: boolean): Float64Array {
  const y = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const v = a[i] + b[i];
    y[i] = relu ? Math.max(v, 0) : v;
  }
  return y;
}

/** torch.nn.Linear: y[n,o] = bias[o] + sum_i x[n,i] * weight[o,i]. */
export function linear(x: ArrayLike<number>, weight: ArrayLike<number>, bias: ArrayLike<number>,
  batch: number, inFeatures: number, outFeatures: number): Float64Array {
  const y = new Float64Array(batch * outFeatures);
  for (let n = 0; n < batch; n++) {
    for (let o = 0; o < outFeatures; o++) {
      let sum = bias[o];
      for (let i = 0; i < inFeatures; i++) sum += x[n * inFeatures + i] * weight[o * inFeatures + i];
      y[n * outFeatures + o] = sum;
    }
  }
  return y;
}

/** Channel ablation: x[n,c,:] = value[c] where mask[c] != 0, else unchanged. */
export function channelReplace(x: ArrayLike<number>, mask: ArrayLike<number>, value: ArrayLike<number>,
  batch: number, channels: number, spatial: number): Float64Array {
  const y = Float64Array.from(x);
  for (let n = 0; n < batch; n++) {
    for (let c = 0; c < channels; c++) {
      if (mask[c] === 0) continue;
      for (let i = 0; i < spatial; i++) y[(n * channels + c) * spatial + i] = value[c];
    }
  }
  return y;
}
