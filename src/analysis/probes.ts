// Dataset probes (METHOD.md, "Probes", mode `dataset`): a streaming top-k accumulator per (tap,
// channel) over batches of centre values, the tuning curves (every image's centre value of every
// channel), and probe-set readouts (the mean over the k images, with relu per image where a formula
// asks for it). Pure typed-array code: browser-safe, no GPU.

/**
 * Ranking of (value, image) pairs: higher value first; equal values, lower image index first; NaN
 * ranks below every number (so a broken activation is never chosen over a real one).
 */
export function ranksBefore(v1: number, i1: number, v2: number, i2: number): boolean {
  const n1 = Number.isNaN(v1);
  const n2 = Number.isNaN(v2);
  if (n1 !== n2) return n2;
  if (!n1 && v1 !== v2) return v1 > v2;
  return i1 < i2;
}

/**
 * The k highest centre values of every channel of one tap, and the images they came from, kept while
 * batches stream past. Memory: 2 * channels * k numbers, whatever the number of images.
 */
export class TopK {
  readonly channels: number;
  readonly k: number;
  /** [channel][slot] values, sorted best first within a channel. */
  private readonly values: Float32Array;
  /** [channel][slot] image indices matching `values`. */
  private readonly images: Int32Array;
  /** Filled slots per channel. */
  private readonly filled: Int32Array;

  constructor(channels: number, k: number) {
    if (!(k >= 1) || !Number.isInteger(k)) throw new Error(`TopK: k must be a positive integer, got ${k}`);
    this.channels = channels;
    this.k = k;
    this.values = new Float32Array(channels * k);
    this.images = new Int32Array(channels * k);
    this.filled = new Int32Array(channels);
  }

  /**
   * Offer a batch: `centres` is [n][channels] (as `centreValues` lays it out) and `imageIndices[j]` is
   * the dataset index of row j. Order of batches and of rows does not change the result.
   */
  push(centres: Float32Array, imageIndices: ArrayLike<number>): void {
    const n = imageIndices.length;
    const C = this.channels;
    const k = this.k;
    if (centres.length !== n * C) throw new Error(`TopK.push: ${centres.length} values for ${n} images x ${C} channels`);
    for (let c = 0; c < C; c++) {
      const base = c * k;
      for (let j = 0; j < n; j++) {
        const v = centres[j * C + c];
        const img = imageIndices[j];
        let count = this.filled[c];
        if (count === k) {
          const last = base + k - 1;
          if (!ranksBefore(v, img, this.values[last], this.images[last])) continue;
          count = k - 1; // the worst slot is overwritten
        }
        // Insertion: shift worse entries down by one.
        let pos = base + count;
        while (pos > base && ranksBefore(v, img, this.values[pos - 1], this.images[pos - 1])) {
          this.values[pos] = this.values[pos - 1];
          this.images[pos] = this.images[pos - 1];
          pos--;
        }
        this.values[pos] = v;
        this.images[pos] = img;
        if (this.filled[c] < k) this.filled[c]++;
      }
    }
  }

  /** The selected images of a channel, best first. */
  imagesOf(channel: number): number[] {
    const base = channel * this.k;
    return Array.from(this.images.subarray(base, base + this.filled[channel]));
  }

  /** Their values, best first (float32, as the engine produced them). */
  valuesOf(channel: number): number[] {
    const base = channel * this.k;
    return Array.from(this.values.subarray(base, base + this.filled[channel]));
  }

  /** Every channel's selected images: [channel][rank]. */
  allImages(): number[][] {
    return Array.from({ length: this.channels }, (_, c) => this.imagesOf(c));
  }
}

/**
 * Tuning curves of one tap: the centre value of every channel on every image of the set, one compact
 * Float32Array laid out [image][channel] (4 bytes per value).
 */
export class TuningCurves {
  readonly images: number;
  readonly channels: number;
  readonly data: Float32Array;
  private readonly seen: Uint8Array;

  constructor(images: number, channels: number) {
    this.images = images;
    this.channels = channels;
    this.data = new Float32Array(images * channels).fill(NaN);
    this.seen = new Uint8Array(images);
  }

  /** Store a batch: `centres` [n][channels] for the images `imageIndices`. */
  set(centres: Float32Array, imageIndices: ArrayLike<number>): void {
    const C = this.channels;
    if (centres.length !== imageIndices.length * C) throw new Error(`TuningCurves.set: ${centres.length} values for ${imageIndices.length} images x ${C} channels`);
    for (let j = 0; j < imageIndices.length; j++) {
      const img = imageIndices[j];
      if (!(img >= 0 && img < this.images)) throw new Error(`TuningCurves.set: image index ${img} outside 0..${this.images - 1}`);
      this.data.set(centres.subarray(j * C, (j + 1) * C), img * C);
      this.seen[img] = 1;
    }
  }

  has(image: number): boolean {
    return this.seen[image] === 1;
  }

  /** Whether every image has been stored. */
  complete(): boolean {
    return this.seen.every((s) => s === 1);
  }

  value(image: number, channel: number): number {
    return this.data[image * this.channels + channel];
  }

  /** One channel's curve over all images. */
  curve(channel: number): Float32Array {
    const out = new Float32Array(this.images);
    for (let n = 0; n < this.images; n++) out[n] = this.data[n * this.channels + channel];
    return out;
  }
}

/** A readout on a probe set: the mean over its images (no relu): METHOD.md's X_c(P) in dataset mode. */
export function probeSetReadout(values: ArrayLike<number>): number {
  if (values.length === 0) return NaN;
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  return s / values.length;
}

/** A relu'd readout on a probe set: the mean of relu(value) per image (METHOD.md's note on SM). */
export function probeSetReadoutRelu(values: ArrayLike<number>): number {
  if (values.length === 0) return NaN;
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i] > 0 ? values[i] : 0;
  return s / values.length;
}
