// The benchmark's data, written once and read by every runner (Chromium fetches it from the static
// server, Node reads the files): the random weights of the architecture, the batch-1 verification
// input, and that input's float64 reference logits (cached: the reference forward takes seconds,
// tens of seconds for ResNet50 at 224).

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors, writeSafetensors } from '../../src/weights/safetensors';
import { type Architecture, RESNET18 } from '../../src/model/architecture';
import { referenceForward } from '../core/reference';
import { FAMILY_WEIGHT_GENERATOR, WEIGHT_GENERATOR, benchWeights, randomInput } from '../core/weights';

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
  log: (s: string) => void, arch: Architecture = RESNET18): BenchData {
  const rel = 'bench/.build/data';
  const dir = join(root, rel);
  mkdirSync(dir, { recursive: true });
  // File names carry the generator, so a new generator never meets files of an old one; and the
  // reference is always computed from the files the engines read, never from a fresh draw.
  // ResNet18's names are those of the files written before other members ran.
  const generator = arch.name === RESNET18.name ? WEIGHT_GENERATOR : `${FAMILY_WEIGHT_GENERATOR}-${arch.name}`;
  const weightsPath = `${rel}/weights-${generator}-s${weightSeed}.safetensors`;
  const inputPath = `${rel}/input-${WEIGHT_GENERATOR}-s${inputSeed}-${size}.safetensors`;
  const refPath = join(dir, `reference-${generator}-s${weightSeed}-s${inputSeed}-${size}.json`);
  if (!existsSync(join(root, weightsPath))) {
    log(`writing random ${arch.name} weights (${generator}, seed ${weightSeed})`);
    writeFileSync(join(root, weightsPath), writeSafetensors(benchWeights(arch, weightSeed), { seed: String(weightSeed), generator, arch: arch.name }));
  }
  if (!existsSync(join(root, inputPath))) {
    writeFileSync(join(root, inputPath), writeSafetensors(new Map([['input', randomInput(inputSeed, 1, size, size)]]), { seed: String(inputSeed) }));
  }
  let referenceLogits: number[];
  let referenceMs: number | null = null;
  if (existsSync(refPath)) {
    referenceLogits = JSON.parse(readFileSync(refPath, 'utf8')).logits;
  } else {
    log(`float64 reference forward of ${arch.name} at ${size} x ${size} (once; cached in ${rel})`);
    const weights = readSafetensors(readFileSync(join(root, weightsPath)), weightsPath).tensors;
    const input = readSafetensors(readFileSync(join(root, inputPath)), inputPath).tensors.get('input');
    if (!input) throw new Error(`${inputPath} holds no 'input'`);
    const t0 = performance.now();
    referenceLogits = Array.from(referenceForward(weights, input, arch));
    referenceMs = performance.now() - t0;
    log(`reference forward: ${(referenceMs / 1000).toFixed(1)} s`);
    writeFileSync(refPath, JSON.stringify({ arch: arch.name, weightSeed, inputSeed, size, logits: referenceLogits }));
  }
  return { weightsPath, inputPath, referenceLogits, weightSeed, inputSeed, size, referenceMs };
}
