// Float64 CPU references for grouped 2D convolution (torch.nn.functional.conv2d with `groups`),
// forward and backward to the input, written for obviousness like cpu.ts and backward.ts. Tensors
// are NCHW; weights [outChannels, inChannels / groups, k, k]. groups = 1 is the plain convolution
// (and agrees with cpu.ts's conv2d and backward.ts's conv2dBackwardData exactly in that case).

import { type RefConvShape, windowOutputSize } from './cpu';

export interface RefGroupedConvShape extends RefConvShape {
  groups: number;
}

function groupSizes(s: RefGroupedConvShape): { inPerGroup: number; outPerGroup: number } {
  if (s.inChannels % s.groups !== 0 || s.outChannels % s.groups !== 0) {
    throw new Error(`channels ${s.inChannels} -> ${s.outChannels} do not split into ${s.groups} groups`);
  }
  return { inPerGroup: s.inChannels / s.groups, outPerGroup: s.outChannels / s.groups };
}

/**
 * y[n,o,oy,ox] = bias[o] + sum_{c < I/g, ky, kx} x[n, g*(I/g) + c, oy*s-p+ky, ox*s-p+kx] * w[o,c,ky,kx]
 * with g = floor(o / (O/g)), the group output channel o belongs to.
 */
export function groupedConv2d(x: ArrayLike<number>, w: ArrayLike<number>, bias: ArrayLike<number> | null,
  s: RefGroupedConvShape): Float64Array {
  const { inPerGroup, outPerGroup } = groupSizes(s);
  const oh = windowOutputSize(s.inHeight, s.kernel, s.stride, s.padding);
  const ow = windowOutputSize(s.inWidth, s.kernel, s.stride, s.padding);
  const k2 = s.kernel * s.kernel;
  const y = new Float64Array(s.batch * s.outChannels * oh * ow);
  for (let n = 0; n < s.batch; n++) {
    for (let o = 0; o < s.outChannels; o++) {
      const firstIn = Math.floor(o / outPerGroup) * inPerGroup;
      for (let oy = 0; oy < oh; oy++) {
        for (let ox = 0; ox < ow; ox++) {
          let sum = bias ? bias[o] : 0;
          for (let c = 0; c < inPerGroup; c++) {
            const plane = (n * s.inChannels + firstIn + c) * s.inHeight;
            const filter = (o * inPerGroup + c) * k2;
            for (let ky = 0; ky < s.kernel; ky++) {
              const iy = oy * s.stride - s.padding + ky;
              if (iy < 0 || iy >= s.inHeight) continue;
              for (let kx = 0; kx < s.kernel; kx++) {
                const ix = ox * s.stride - s.padding + kx;
                if (ix < 0 || ix >= s.inWidth) continue;
                sum += x[(plane + iy) * s.inWidth + ix] * w[filter + ky * s.kernel + kx];
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

/**
 * dL/dx of y = scale[o] * groupedConv2d(x, w)[o] (+ shift), given dL/dy: the forward's loops run
 * again as a scatter, every product x[c_in] * w[o,c] that fed y[o,oy,ox] sending dy * scale[o] * w
 * back to x. An input channel receives only from the output channels of its own group.
 */
export function groupedConv2dBackwardData(dy: ArrayLike<number>, w: ArrayLike<number>, scale: ArrayLike<number> | null,
  s: RefGroupedConvShape): Float64Array {
  const { inPerGroup, outPerGroup } = groupSizes(s);
  const oh = windowOutputSize(s.inHeight, s.kernel, s.stride, s.padding);
  const ow = windowOutputSize(s.inWidth, s.kernel, s.stride, s.padding);
  const k2 = s.kernel * s.kernel;
  const dx = new Float64Array(s.batch * s.inChannels * s.inHeight * s.inWidth);
  for (let n = 0; n < s.batch; n++) {
    for (let o = 0; o < s.outChannels; o++) {
      const firstIn = Math.floor(o / outPerGroup) * inPerGroup;
      const sc = scale ? scale[o] : 1;
      for (let oy = 0; oy < oh; oy++) {
        for (let ox = 0; ox < ow; ox++) {
          const g = dy[((n * s.outChannels + o) * oh + oy) * ow + ox] * sc;
          if (g === 0) continue;
          for (let c = 0; c < inPerGroup; c++) {
            const plane = (n * s.inChannels + firstIn + c) * s.inHeight;
            const filter = (o * inPerGroup + c) * k2;
            for (let ky = 0; ky < s.kernel; ky++) {
              const iy = oy * s.stride - s.padding + ky;
              if (iy < 0 || iy >= s.inHeight) continue;
              for (let kx = 0; kx < s.kernel; kx++) {
                const ix = ox * s.stride - s.padding + kx;
                if (ix < 0 || ix >= s.inWidth) continue;
                dx[(plane + iy) * s.inWidth + ix] += g * w[filter + ky * s.kernel + kx];
              }
            }
          }
        }
      }
    }
  }
  return dx;
}

/**
 * The same gradient computed the other way round, as a gather over the transposed convolution:
 * dx[n,ci,iy,ix] = sum over the output channels o of ci's group and the (ky, kx) with
 * oy*s - p + ky = iy, ox*s - p + kx = ix. A second, independent formulation the scatter above is
 * checked against (and the form a GPU kernel takes: one thread per input element).
 */
export function groupedConv2dBackwardDataGather(dy: ArrayLike<number>, w: ArrayLike<number>, scale: ArrayLike<number> | null,
  s: RefGroupedConvShape): Float64Array {
  const { inPerGroup, outPerGroup } = groupSizes(s);
  const oh = windowOutputSize(s.inHeight, s.kernel, s.stride, s.padding);
  const ow = windowOutputSize(s.inWidth, s.kernel, s.stride, s.padding);
  const dx = new Float64Array(s.batch * s.inChannels * s.inHeight * s.inWidth);
  for (let n = 0; n < s.batch; n++) {
    for (let ci = 0; ci < s.inChannels; ci++) {
      const group = Math.floor(ci / inPerGroup);
      const c = ci - group * inPerGroup;
      for (let iy = 0; iy < s.inHeight; iy++) {
        for (let ix = 0; ix < s.inWidth; ix++) {
          let sum = 0;
          for (let ky = 0; ky < s.kernel; ky++) {
            const ty = iy + s.padding - ky;
            if (ty < 0 || ty % s.stride !== 0 || ty / s.stride >= oh) continue;
            const oy = ty / s.stride;
            for (let kx = 0; kx < s.kernel; kx++) {
              const tx = ix + s.padding - kx;
              if (tx < 0 || tx % s.stride !== 0 || tx / s.stride >= ow) continue;
              const ox = tx / s.stride;
              for (let o = group * outPerGroup; o < (group + 1) * outPerGroup; o++) {
                sum += dy[((n * s.outChannels + o) * oh + oy) * ow + ox] * (scale ? scale[o] : 1) *
                  w[((o * inPerGroup + c) * s.kernel + ky) * s.kernel + kx];
              }
            }
          }
          dx[((n * s.inChannels + ci) * s.inHeight + iy) * s.inWidth + ix] = sum;
        }
      }
    }
  }
  return dx;
}
