// What a channel's page shows beyond analysis.json: the readouts on every probe image (original and
// zoomed, ChannelResponses as measured) and the channel's tuning curve over the image set, binned.
// Kept out of analysis.json (whose bytes stay as they are) and handed to the site writer
// (src/report/site.ts) through the runs' `onBlockDetails`. Browser-safe, pure.

import type { BlockMeasurements, ChannelResponses } from './schema';

/** Bins of a tuning curve (at most; fewer when fewer images have I_c > 0). */
export const TUNING_CURVE_BINS = 24;

/**
 * A channel's tuning curve: the images of the set where I_c > 0 (those the tuning-curve correlation
 * uses), ranked by I_c from the highest, in `bins` runs of about equal length; per run, the mean of
 * I_c and of B_c. A branch that follows the input's tuning falls with it.
 */
export interface TuningCurve {
  /** Images with I_c > 0. */
  images: number;
  /** Mean I_c per bin, highest I first. */
  input: number[];
  /** Mean B_c over the same images per bin. */
  branch: number[];
}

export interface ChannelDetail {
  channel: number;
  /** The readouts on each probe image, best probe first (one value per image of the probe set). */
  responses: ChannelResponses;
  /** Null where the run kept no tuning curves (fv probes, or `keepTuningCurves: false`). */
  tuningCurve: TuningCurve | null;
}

export interface BlockDetails {
  block: string;
  channels: ChannelDetail[];
}

/** Centre values of a block's I and B taps on every image of the set, [image][channel]. */
export interface TuningMatrices {
  input: Float32Array;
  branch: Float32Array;
  images: number;
}

const round = (x: number): number => Math.fround(x);

/** The binned tuning curve of channel c (null when no image has I_c > 0). */
export function tuningCurve(t: TuningMatrices, channels: number, c: number, bins = TUNING_CURVE_BINS): TuningCurve | null {
  const rows: number[] = [];
  for (let n = 0; n < t.images; n++) if (t.input[n * channels + c] > 0) rows.push(n);
  if (!rows.length) return null;
  rows.sort((a, b) => t.input[b * channels + c] - t.input[a * channels + c] || a - b);
  const k = Math.min(bins, rows.length);
  const input: number[] = [];
  const branch: number[] = [];
  for (let i = 0; i < k; i++) {
    const from = Math.floor((i * rows.length) / k);
    const to = Math.floor(((i + 1) * rows.length) / k);
    let si = 0;
    let sb = 0;
    for (let j = from; j < to; j++) {
      si += t.input[rows[j] * channels + c];
      sb += t.branch[rows[j] * channels + c];
    }
    input.push(round(si / (to - from)));
    branch.push(round(sb / (to - from)));
  }
  return { images: rows.length, input, branch };
}

/** A block's details from its measurements (and the tuning matrices where the run kept them). */
export function blockDetails(m: BlockMeasurements, tuning?: TuningMatrices): BlockDetails {
  const C = m.readouts.channels;
  return {
    block: m.readouts.block,
    channels: m.responses.map((responses, c) => ({ channel: c, responses, tuningCurve: tuning ? tuningCurve(tuning, C, c) : null })),
  };
}
