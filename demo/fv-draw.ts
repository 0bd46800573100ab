// The feature-visualisation panel's drawings: the optimised image scaled up, and the objective per step.

import { COLOURS } from './charts';

/** Draw an RGBA image scaled up to the canvas (nearest neighbour: the pixels the network saw). */
export function drawFvImage(canvas: HTMLCanvasElement, image: { width: number; height: number; data: Uint8ClampedArray }): void {
  const small = document.createElement('canvas');
  small.width = image.width;
  small.height = image.height;
  small.getContext('2d')!.putImageData(new ImageData(new Uint8ClampedArray(image.data), image.width, image.height), 0, 0);
  const ctx = canvas.getContext('2d')!;
  ctx.imageSmoothingEnabled = false;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(small, 0, 0, canvas.width, canvas.height);
  // For tests: how many images were drawn, and a checksum of each.
  let sum = 0;
  for (let i = 0; i < image.data.length; i++) sum = (sum * 31 + image.data[i]) >>> 0;
  canvas.dataset.draws = String(Number(canvas.dataset.draws ?? 0) + 1);
  canvas.dataset.checksums = `${canvas.dataset.checksums ?? ''} ${sum}`.trim();
}

/** The objective per step as a line, y from its min to its max so far, x over all the steps. */
export function drawObjective(canvas: HTMLCanvasElement, values: ArrayLike<number>, done: number, steps: number): void {
  const ctx = canvas.getContext('2d')!;
  const { width, height } = canvas;
  const pad = { left: 56, right: 10, top: 10, bottom: 22 };
  ctx.clearRect(0, 0, width, height);
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < done; i++) {
    lo = Math.min(lo, values[i]);
    hi = Math.max(hi, values[i]);
  }
  if (!(hi > lo)) {
    // No steps yet (lo = Infinity) or a flat objective: a unit range around it.
    lo = Number.isFinite(lo) ? lo - 1 : -1;
    hi = Number.isFinite(hi) ? hi + 1 : 1;
  }
  const x = (i: number) => pad.left + (width - pad.left - pad.right) * (steps > 1 ? i / (steps - 1) : 0);
  const y = (v: number) => pad.top + (height - pad.top - pad.bottom) * (1 - (v - lo) / (hi - lo));
  ctx.strokeStyle = '#b9c1cd';
  ctx.strokeRect(pad.left, pad.top, width - pad.left - pad.right, height - pad.top - pad.bottom);
  ctx.fillStyle = '#5b6475';
  ctx.font = '11px system-ui, sans-serif';
  ctx.textAlign = 'right';
  ctx.fillText(hi.toPrecision(4), pad.left - 4, pad.top + 9);
  ctx.fillText(lo.toPrecision(4), pad.left - 4, height - pad.bottom);
  ctx.textAlign = 'center';
  ctx.fillText('step 1', pad.left + 16, height - 6);
  ctx.fillText(`step ${steps}`, width - pad.right - 24, height - 6);
  ctx.strokeStyle = COLOURS.skip;
  ctx.lineWidth = 2;
  ctx.beginPath();
  for (let i = 0; i < done; i++) (i ? ctx.lineTo : ctx.moveTo).call(ctx, x(i), y(values[i]));
  ctx.stroke();
}
