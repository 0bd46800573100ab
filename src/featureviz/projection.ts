// How long a feature-visualisation step takes at taps that were not measured: a step's time is modelled
// as a + b * MACs(input -> tap), the line through the measured taps (least squares with more than two;
// a constant with one). Used by the benchmark's projection of the paper's protocol (bench/fv-project.ts)
// and by `analyze --plan`. ResNet18's convolutions (the benchmark measures ResNet18). Pure.

import { allConvs, convOutputSize } from '../model/architecture';

/** Forward multiply-adds of the convolutions needed to compute `tap` for one image of size x size. */
export function macsToTap(tap: string, size: number): number {
  const stage = (name: string) => (name === 'conv1' ? '' : name.split('.').slice(0, 2).join('.'));
  const tapBlock = tap.startsWith('layer') ? tap.split('.').slice(0, 2).join('.') : '';
  const part = tap.startsWith('layer') ? tap.split('.').slice(2).join('.') : '';
  let h = size;
  let macs = 0;
  let blockInput = size;
  let seenTapBlock = false;
  for (const c of allConvs()) {
    const block = stage(c.conv);
    if (seenTapBlock && block !== tapBlock) break;
    if (block === tapBlock && tapBlock) seenTapBlock = true;
    const isDown = c.conv.endsWith('downsample.0');
    if (c.conv.endsWith('.conv1')) blockInput = h;
    const ih = isDown ? blockInput : h;
    const oh = convOutputSize(ih, c.kernel, c.stride, c.padding);
    const inTapBlock = block === tapBlock && tapBlock !== '';
    // Within the tap's block only what the tap needs: bn1 -> conv1; downsample.1 -> downsample.0; else all.
    const needed = !inTapBlock || (part === 'bn1' ? c.conv.endsWith('.conv1') : part === 'downsample.1' ? isDown : true);
    if (needed) macs += oh * oh * c.outChannels * c.inChannels * c.kernel * c.kernel;
    if (!isDown) h = c.conv === 'conv1' ? convOutputSize(oh, 3, 2, 1) : oh;
  }
  return macs;
}

/**
 * Seconds per optimisation step at any tap, from the step times measured at some taps (`measured`:
 * tap -> seconds, all at `size`): the measured value where there is one, else the fitted line (never
 * below half the fastest measured step).
 */
export function stepSecondsModel(measured: Record<string, number>, size = 224): (tap: string) => number {
  const pts = Object.entries(measured).map(([tap, s]) => [macsToTap(tap, size), s] as const);
  const n = pts.length;
  const mx = pts.reduce((a, p) => a + p[0], 0) / n;
  const my = pts.reduce((a, p) => a + p[1], 0) / n;
  const sxx = pts.reduce((a, p) => a + (p[0] - mx) ** 2, 0);
  const b = sxx > 0 ? pts.reduce((a, p) => a + (p[0] - mx) * (p[1] - my), 0) / sxx : 0;
  return (tap: string) => measured[tap] ?? Math.max(my + b * (macsToTap(tap, size) - mx), Math.min(...pts.map((p) => p[1])) * 0.5);
}
