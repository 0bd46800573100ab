// 2D affine geometry of Lucent's transforms, built with wgpu-matrix (mat3d: 3x3 homogeneous, column-
// major, float64). Every resampling here is described by one sampling matrix A that maps a
// destination pixel (x, y, 1) to the source position it reads, in pixel units with pixel centres
// at integers; the kernel then interpolates bilinearly with zeros outside the source.
//
// What Lucent calls, and what each comes to (torch 2.0.1, kornia 0.4.1, as in the paper's
// environment):
//   - jitter(d): kornia.translate(img, (dx, dy)) -> warp_affine(M = [[1, 0, dx], [0, 1, dy]]).
//   - random_rotate: kornia.get_rotation_matrix2d(centre ((W-1)/2, (H-1)/2), angle, 1) ->
//     warp_affine. M = [[a, b, (1-a) cx - b cy], [-b, a, b cx + (1-a) cy]], a = cos, b = sin.
//   - kornia 0.4.1's warp_affine normalises M with corner-aligned coordinates (pixel 0 -> -1,
//     W-1 -> +1) but samples with affine_grid / grid_sample(align_corners=False), where -1 and +1
//     are the outer pixel edges. The sampling matrix is therefore
//       A = G_src * N_src * M^-1 * N_dst^-1 * B_dst,
//     N: pixel -> corner-aligned normalised, B: pixel -> edge-aligned normalised, G = B^-1.
//     For a same-size rotation about the centre the two conventions cancel exactly; a translation
//     by t moves the image by t * W / (W - 1) pixels (a whole-pixel jitter is not quite whole).
//   - random_scale: F.interpolate(size = ceil(s * W), bilinear, align_corners=True), then
//     zero-pad ceil((W - ceil(sW)) / 2) on each side when s < 1:
//       A = scale((W-1)/(Ws-1)) * translate(-pad), nonzero only on [pad, pad + Ws).
//   - crop(224) (not in Lucent itself; the paper's code calls transform.crop): taken as a centre
//     crop at offset floor((W - 224) / 2), as Lucid's crop_or_pad_to: A = translate(offset).

import { type Mat3d, mat3d } from 'wgpu-matrix';

export type { Mat3d };

/** Pixel coordinate -> kornia's corner-aligned normalised coordinate: 2x / (W-1) - 1. */
export function cornerAlignedNormalisation(height: number, width: number): Mat3d {
  const sx = width > 1 ? 2 / (width - 1) : 2;
  const sy = height > 1 ? 2 / (height - 1) : 2;
  return mat3d.multiply(mat3d.translation([-1, -1]), mat3d.scaling([sx, sy]));
}

/** Pixel coordinate -> edge-aligned normalised coordinate (align_corners=False): (2x + 1) / W - 1. */
export function edgeAlignedNormalisation(height: number, width: number): Mat3d {
  return mat3d.multiply(mat3d.translation([1 / width - 1, 1 / height - 1]), mat3d.scaling([2 / width, 2 / height]));
}

/**
 * The sampling matrix (destination pixel -> source pixel) of kornia 0.4.1's
 * warp_affine(src, M, dsize), for M mapping source pixels to destination pixels.
 */
export function korniaWarpSampling(m: Mat3d, srcHeight: number, srcWidth: number, dstHeight: number, dstWidth: number): Mat3d {
  const toSrcPixels = mat3d.inverse(edgeAlignedNormalisation(srcHeight, srcWidth));
  const srcNorm = cornerAlignedNormalisation(srcHeight, srcWidth);
  const dstNormInverse = mat3d.inverse(cornerAlignedNormalisation(dstHeight, dstWidth));
  const fromDstPixels = edgeAlignedNormalisation(dstHeight, dstWidth);
  let a = mat3d.multiply(toSrcPixels, srcNorm);
  a = mat3d.multiply(a, mat3d.inverse(m));
  a = mat3d.multiply(a, dstNormInverse);
  return mat3d.multiply(a, fromDstPixels);
}

/** kornia.translate(img, (dx, dy)) on an H x W image: content moves by (dx, dy) (times W/(W-1)). */
export function translateSampling(dx: number, dy: number, height: number, width: number): Mat3d {
  return korniaWarpSampling(mat3d.translation([dx, dy]), height, width, height, width);
}

/**
 * kornia's rotation matrix M (source -> destination pixels) for `degrees` about the centre
 * ((W-1)/2, (H-1)/2): M = T(c) R T(-c), R = [[cos, sin], [-sin, cos]].
 */
export function korniaRotationMatrix(degrees: number, height: number, width: number): Mat3d {
  const c = [(width - 1) / 2, (height - 1) / 2];
  const theta = (degrees * Math.PI) / 180;
  // wgpu-matrix's rotation(t) is [[cos t, -sin t], [sin t, cos t]]; kornia's is that of -t.
  const r = mat3d.rotation(-theta);
  return mat3d.multiply(mat3d.multiply(mat3d.translation(c), r), mat3d.translation([-c[0], -c[1]]));
}

/** Lucent's random_rotate for `degrees` on an H x W image, as a sampling matrix. */
export function rotateSampling(degrees: number, height: number, width: number): Mat3d {
  return korniaWarpSampling(korniaRotationMatrix(degrees, height, width), height, width, height, width);
}

/** Lucent's random_scale output geometry for one axis: ceil(s * size), and the zero pad when s < 1. */
export function scaledExtent(size: number, scale: number): { scaled: number; pad: number; out: number } {
  const scaled = Math.ceil(scale * size);
  const pad = Math.max(0, Math.ceil((size - scaled) / 2));
  return { scaled, pad, out: scaled + 2 * pad };
}

/**
 * F.interpolate(size=scaled, bilinear, align_corners=True) followed by a zero pad of `pad`, as a
 * sampling matrix: destination j reads source (j - pad) * (size - 1) / (scaled - 1).
 */
export function interpolateSampling(srcHeight: number, srcWidth: number, scaledHeight: number, scaledWidth: number, pad: number): Mat3d {
  const sx = scaledWidth > 1 ? (srcWidth - 1) / (scaledWidth - 1) : 0;
  const sy = scaledHeight > 1 ? (srcHeight - 1) / (scaledHeight - 1) : 0;
  return mat3d.multiply(mat3d.scaling([sx, sy]), mat3d.translation([-pad, -pad]));
}

/** The offset of a centre crop of `crop` from `size` (Lucid's crop_or_pad_to: floor). */
export function centreCropOffset(size: number, crop: number): number {
  return Math.floor((size - crop) / 2);
}

/** Apply a sampling matrix to a destination pixel: [px, py]. */
export function applySampling(a: Mat3d, x: number, y: number): [number, number] {
  return [a[0] * x + a[4] * y + a[8], a[1] * x + a[5] * y + a[9]];
}

/** The two rows (a, b, c), (d, e, f) of a 2D affine matrix: p = (a x + b y + c, d x + e y + f). */
export function affineRows(a: Mat3d): [number, number, number, number, number, number] {
  return [a[0], a[4], a[8], a[1], a[5], a[9]];
}
