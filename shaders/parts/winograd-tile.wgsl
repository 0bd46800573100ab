// winograd-tile.wgsl: where a thread of a Winograd transform works (conv2d-winograd{,4}-input.wgsl
// and conv2d-winograd{,4}-output.wgsl). Thread `flat` of a transform over C channels x T tiles
// takes channel flat / T and tile t = flat % T; tile t is tile (row, column) of image n in the
// row-major order of that image's tilesH x tilesW tiles. Needs Params' tiles, tilesH and tilesW.

struct TileAt {
  channel: u32,
  /** The tile's index among all T (the column of V and M it reads or writes). */
  tile: u32,
  image: u32,
  row: u32,
  column: u32,
}

fn tileAt(flat: u32) -> TileAt {
  let t = flat % params.tiles;
  let perImage = params.tilesH * params.tilesW;
  return TileAt(flat / params.tiles, t, t / perImage, (t % perImage) / params.tilesW, t % params.tilesW);
}
