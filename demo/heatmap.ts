// Heatmaps for the stream view: a diverging colour map (blue below zero, white at zero, red above,
// after ColorBrewer's RdBu), one channel's H x W map drawn cell by cell on a canvas at a shared
// scale, the centre unit outlined, and a colour bar.

/** RdBu stops from -1 to +1 (11 classes), reversed so that positive is red. */
const STOPS: [number, number, number][] = [
  [5, 48, 97], [33, 102, 172], [67, 147, 195], [146, 197, 222], [209, 229, 240], [247, 247, 247],
  [253, 219, 199], [244, 165, 130], [214, 96, 77], [178, 24, 43], [103, 0, 31],
];

/** The colour of t in [-1, 1] (clamped; NaN is grey). */
export function diverging(t: number): [number, number, number] {
  if (Number.isNaN(t)) return [128, 128, 128];
  const x = (Math.max(-1, Math.min(1, t)) + 1) / 2 * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(x));
  const f = x - i;
  const a = STOPS[i];
  const b = STOPS[i + 1];
  return [0, 1, 2].map((k) => Math.round(a[k] + (b[k] - a[k]) * f)) as [number, number, number];
}

/** Largest |value| over several arrays (the shared scale), at least a tiny positive number. */
export function sharedScale(...planes: ArrayLike<number>[]): number {
  let m = 0;
  for (const p of planes) for (let i = 0; i < p.length; i++) if (Math.abs(p[i]) > m) m = Math.abs(p[i]);
  return m > 0 ? m : 1e-12;
}

/** Channel c of the first image of an NCHW tensor: its H x W values (a view, no copy). */
export function channelPlane(data: Float32Array, shape: readonly number[], channel: number): Float32Array {
  const [, c, h, w] = shape;
  if (channel < 0 || channel >= c) throw new RangeError(`channel ${channel} outside 0..${c - 1}`);
  return data.subarray(channel * h * w, (channel + 1) * h * w);
}

/**
 * Draw an H x W map on a canvas (cells as squares, nearest neighbour), colours at +-scale, and
 * outline cell `mark` = [row, col] (the centre unit).
 */
export function drawMap(canvas: HTMLCanvasElement, plane: ArrayLike<number>, height: number, width: number, scale: number,
  mark?: [number, number]): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const cell = Math.max(1, Math.floor(Math.min(canvas.width / width, canvas.height / height)));
  const ox = Math.floor((canvas.width - cell * width) / 2);
  const oy = Math.floor((canvas.height - cell * height) / 2);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const img = ctx.createImageData(cell * width, cell * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r, g, b] = diverging(plane[y * width + x] / scale);
      for (let dy = 0; dy < cell; dy++) {
        let p = ((y * cell + dy) * width * cell + x * cell) * 4;
        for (let dx = 0; dx < cell; dx++, p += 4) {
          img.data[p] = r;
          img.data[p + 1] = g;
          img.data[p + 2] = b;
          img.data[p + 3] = 255;
        }
      }
    }
  }
  ctx.putImageData(img, ox, oy);
  if (mark) {
    const [my, mx] = mark;
    const lw = Math.max(1.5, cell / 8);
    ctx.lineWidth = lw;
    ctx.strokeStyle = '#111';
    ctx.strokeRect(ox + mx * cell - lw / 2, oy + my * cell - lw / 2, cell + lw, cell + lw);
    ctx.strokeStyle = '#fff';
    ctx.lineWidth = lw / 2;
    ctx.strokeRect(ox + mx * cell - lw * 1.25, oy + my * cell - lw * 1.25, cell + lw * 2.5, cell + lw * 2.5);
  }
}

/** A horizontal colour bar from -1 to +1. */
export function drawColourBar(canvas: HTMLCanvasElement): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const img = ctx.createImageData(canvas.width, canvas.height);
  for (let x = 0; x < canvas.width; x++) {
    const [r, g, b] = diverging((x / (canvas.width - 1)) * 2 - 1);
    for (let y = 0; y < canvas.height; y++) img.data.set([r, g, b, 255], (y * canvas.width + x) * 4);
  }
  ctx.putImageData(img, 0, 0);
}

/** Draw an 8-bit RGB image on a canvas of the same size. */
export function drawRgb(canvas: HTMLCanvasElement, rgb: { width: number; height: number; data: Uint8Array }): void {
  canvas.width = rgb.width;
  canvas.height = rgb.height;
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const img = ctx.createImageData(rgb.width, rgb.height);
  for (let i = 0; i < rgb.width * rgb.height; i++) img.data.set([rgb.data[i * 3], rgb.data[i * 3 + 1], rgb.data[i * 3 + 2], 255], i * 4);
  ctx.putImageData(img, 0, 0);
}

/** The mean of channel c of the first image of an NCHW tensor over all its positions (float32), the demo's mean-ablation value. */
export function channelMean(t: { data: Float32Array; shape: readonly number[] }, channel: number): number {
  const plane = channelPlane(t.data, t.shape, channel);
  let s = 0;
  for (let i = 0; i < plane.length; i++) s += plane[i];
  return Math.fround(s / plane.length);
}
