// winograd-patch.wgsl: the input read of both Winograd input transforms
// (conv2d-winograd{,4}-input.wgsl), which declare `x` and Params' inHeight and inWidth.

/** x[plane + iy*W + ix], or 0 in the padding (a clamped read and a select: no branch). */
fn patchAt(plane: u32, iy: i32, ix: i32) -> f32 {
  let h = i32(params.inHeight);
  let w = i32(params.inWidth);
  let inside = iy >= 0 && ix >= 0 && iy < h && ix < w;
  return select(0.0, x[plane + u32(clamp(iy, 0, h - 1)) * params.inWidth + u32(clamp(ix, 0, w - 1))], inside);
}
