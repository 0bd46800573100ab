// conv2d-subgroup-grid.wgsl: the grid of conv2d-subgroup.wgsl and conv2d-stem-subgroup.wgsl
// (conv2d-rows.wgsl's, whose threads past the end leave instead): one workgroup per (image n,
// channel group g of 16 channels, tile of WG pixel blocks), w = (n * G + g) * tiles + tile, and
// thread lid on pixel block j = tile * WG + lid. Needs Params' tiles, groups, outHeight, colBlocks
// and the kernel's overrides WG and COLS.

/** A thread's pixel block: image n, channel group g, output row oy, first column ox0. */
struct PixelBlock { n: u32, g: u32, oy: u32, ox0: u32, live: bool }

/**
 * Thread lid's pixel block in workgroup w (w < params.workgroups). Past the last block it takes the
 * last again (live = false: computed, so that every lane a shuffle reads is active, and not stored).
 */
fn pixelBlock(w: u32, lid: u32) -> PixelBlock {
  let tile = w % params.tiles;
  let ng = w / params.tiles;
  let blocks = params.outHeight * params.colBlocks;
  let j = tile * WG + lid;
  let block = min(j, blocks - 1u);
  return PixelBlock(ng / params.groups, ng % params.groups, block / params.colBlocks, (block % params.colBlocks) * COLS, j < blocks);
}
