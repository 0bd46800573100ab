// The benchmark's data, written once and read by every runner (Chromium fetches it from the static
// server, Node reads the files): the random weights, the batch-1 verification input, and that
// input's float64 reference logits (cached: the reference forward takes seconds).

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeSafetensors } from '../../src/weights/safetensors';
import { referenceForward } from '../core/reference';
import { WEIGHT_GENERATOR, randomInput, randomResnet18Weights } from '../core/weights';

export interface BenchData {
  /** Paths relative to the repository root (the static server's root). */
  weightsPath: string;
  inputPath: string;
  referenceLogits: number[];
  weightSeed: number;
  inputSeed: number;
  size: number;
  referenceMs: number | null;
}

export function prepareData(root: string, weightSeed: number, inputSeed: number, size: number,
  log: (s: string) => void): BenchData {
  const rel = 'bench/.build/data';
  const dir = join(root, rel);
  mkdirSync(dir, { recursive: true });
  const weightsPath = `${rel}/weights-${WEIGHT_GENERATOR}-s${weightSeed}.safetensors`;
  const inputPath = `${rel}/input-s${inputSeed}-${size}.safetensors`;
  const refPath = join(dir, `reference-${WEIGHT_GENERATOR}-s${weightSeed}-s${inputSeed}-${size}.json`);
  let weights: ReturnType<typeof randomResnet18Weights> | null = null;
  const getWeights = () => (weights ??= randomResnet18Weights(weightSeed));
  if (!existsSync(join(root, weightsPath))) {
    log(`writing random weights (src/weights/random.ts, seed ${weightSeed})`);
    writeFileSync(join(root, weightsPath), writeSafetensors(getWeights(), { seed: String(weightSeed), generator: WEIGHT_GENERATOR }));
  }
  const input = randomInput(inputSeed, 1, size, size);
  if (!existsSync(join(root, inputPath))) {
    writeFileSync(join(root, inputPath), writeSafetensors(new Map([['input', input]]), { seed: String(inputSeed) }));
  }
  let referenceLogits: number[];
  let referenceMs: number | null = null;
  if (existsSync(refPath)) {
    referenceLogits = JSON.parse(readFileSync(refPath, 'utf8')).logits;
  } else {
    log(`float64 reference forward at ${size} x ${size} (once; cached in ${rel})`);
    const t0 = performance.now();
    referenceLogits = Array.from(referenceForward(getWeights(), input));
    referenceMs = performance.now() - t0;
    log(`reference forward: ${(referenceMs / 1000).toFixed(1)} s`);
    writeFileSync(refPath, JSON.stringify({ weightSeed, inputSeed, size, logits: referenceLogits }));
  }
  return { weightsPath, inputPath, referenceLogits, weightSeed, inputSeed, size, referenceMs };
}
