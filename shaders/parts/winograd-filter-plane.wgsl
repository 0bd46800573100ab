// winograd-filter-plane.wgsl: which plane of U a Winograd product reads (all four product kernels,
// conv2d-winograd-gemm{,-plain,-subgroup,-grid}.wgsl). F(2x2, 3x3) and F(4x4, 3x3) at stride 1
// keep a plane of U per product. F(4x4, 3x3) at stride 2 (conv2d-winograd4s2-*.wgsl) has 81
// products but 36 distinct planes of U: its product (i, j) = xi / 9, xi % 9 pairs an even or odd
// row point with an even or odd column point, and the odd points (5 .. 8) each see the same filter
// tap, so the products of an odd row or column share their plane (conv2d-winograd4s2-filter.wgsl).

/** 1: the stride-2 form's 81 products over 36 planes of U; 0: one plane per product. */
override STRIDED: u32 = 0u;

/** The plane of U that product xi reads. */
fn filterPlane(xi: u32) -> u32 {
  if (STRIDED == 0u) { return xi; }
  let i = xi / 9u;
  let j = xi % 9u;
  if (i < 5u && j < 5u) { return 5u * i + j; }  // even x even: F(4x4, 2x2)'s 25 planes
  if (i < 5u) { return 25u + i; }               // even row, odd column: F(4, 2) x F(4, 1)
  if (j < 5u) { return 30u + j; }               // odd row, even column
  return 35u;                                   // odd x odd: the centre tap alone
}
