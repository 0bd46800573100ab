// The head-to-head's rounds (bench/node/head-to-head.ts runs them in Node, bench/page/head-to-head.ts
// in a page of headless Chromium): our forward against ONNX Runtime's wasm engine (the CPU engine a
// user without a GPU would pick), both built on the suite's environment, their runs interleaved:
// each round runs every engine once, every order of them in turn, so that a machine whose speed
// drifts over minutes (a shared 2-core machine drifts by +-50%) slows them alike. The benchmark
// proper (npm run bench) times each engine's runs in a block, one engine after another, where such a
// drift lands on one engine only. A run is what the benchmark times: upload the input, forward, read
// the logits back. Same seeded ResNet18 weights and input as the benchmark; the engines' logits are
// compared before anything is timed.

import { compareLogits, type Agreement } from './compare';
import { now } from './stats';
import { describeDevice, type DeviceInfo, type SuiteEnv } from './suite';
import { DEFAULT_INPUT_SEED, DEFAULT_WEIGHT_SEED, randomInput, randomResnet18Weights } from './weights';
import { withholdFeatures } from './withhold';
import { createOurEngine } from '../engine-adapter';
import { buildResnetOnnx } from '../peers/onnx-resnet';
import { createOrtPeer } from '../peers/ort-peer';

export type EngineName = 'ours' | 'ortWasm' | 'oursWithoutSubgroups';

export interface HeadToHeadOptions {
  rounds: number;
  warmups: number;
  size: number;
  /** Our convolution kernels ('' : the engine's choice). */
  convVariant: string;
  /**
   * A third engine every round: ours on the same adapter with 'subgroups' withheld
   * (core/withhold.ts), the kernels a page gets in Chromium's compatibility mode, which offers none.
   */
  withoutSubgroups: boolean;
}

export interface HeadToHeadRun {
  names: EngineName[];
  /** Every timed round's ms per engine (warm-ups left out). */
  samples: Partial<Record<EngineName, number[]>>;
  /** Ours against ORT wasm, and (withoutSubgroups) ours without subgroups against ORT wasm. */
  agreement: Agreement;
  plainAgreement?: Agreement;
  device?: DeviceInfo;
  /** ONNX Runtime's wasm threads. */
  ortThreads: number;
}

/** The engines' names in the log and the report (ORT's threads: one in Node, two in a page). */
export function engineLabels(ortThreads: number): Record<EngineName, string> {
  return {
    ours: 'resnet-stream (ours)',
    ortWasm: `ONNX Runtime Web wasm (${ortThreads} thread${ortThreads === 1 ? '' : 's'})`,
    oursWithoutSubgroups: "resnet-stream (ours), 'subgroups' withheld",
  };
}

/**
 * The order of round r: the engines rotated by r, and reversed in every other run of n rounds, so
 * that n! rounds run every order once (two engines: AB, BA, BA, AB, ...; three: all six).
 */
export function roundOrder(names: EngineName[], r: number): EngineName[] {
  const n = names.length;
  const k = ((r % n) + n) % n;
  const rotated = [...names.slice(k), ...names.slice(0, k)];
  return Math.floor(r / n) % 2 ? rotated.reverse() : rotated;
}

/** Builds the engines on `env`, checks their logits agree, and times `rounds` interleaved rounds. */
export async function runHeadToHead(env: SuiteEnv, o: HeadToHeadOptions): Promise<HeadToHeadRun> {
  const ms = (x: number) => x.toFixed(1);
  const weights = randomResnet18Weights(DEFAULT_WEIGHT_SEED);
  const input = randomInput(DEFAULT_INPUT_SEED, 1, o.size, o.size);
  const variant = o.convVariant ? { convVariant: o.convVariant } : {};
  const { engine: ours } = await createOurEngine({ gpu: env.gpu, featureLevel: env.featureLevel, ...variant }, weights);
  const plain = o.withoutSubgroups
    ? (await createOurEngine({ gpu: withholdFeatures(env.gpu, ['subgroups']), featureLevel: env.featureLevel, ...variant }, weights)).engine
    : null;
  if (plain?.device()?.features.has('subgroups')) throw new Error("the withheld engine's device has 'subgroups'");
  const ort = await env.loadOrt();
  const ortThreads = ort.env.wasm.numThreads ?? 1;
  const labels = engineLabels(ortThreads);
  const peer = await createOrtPeer(ort, buildResnetOnnx(weights, 1, o.size, o.size).bytes, 'wasm');
  try {
    const engines: Partial<Record<EngineName, () => Promise<Float32Array>>> = {
      ours: async () => (await ours.forward(input, ['fc'])).get('fc')!.data,
      ortWasm: () => peer.predict(input),
    };
    if (plain) engines.oursWithoutSubgroups = async () => (await plain.forward(input, ['fc'])).get('fc')!.data;
    const names = Object.keys(engines) as EngineName[];
    const ortLogits = await engines.ortWasm!();
    const agreement = compareLogits(await engines.ours!(), ortLogits);
    env.log(`logits, ours against ORT wasm: ${agreement.relError.toExponential(2)} of their scale, top-1 ${agreement.top1Agree ? 'agrees' : 'DIFFERS'}`);
    const plainAgreement = plain ? compareLogits(await engines.oursWithoutSubgroups!(), ortLogits) : undefined;
    if (plainAgreement) env.log(`logits, ours without subgroups against ORT wasm: ${plainAgreement.relError.toExponential(2)} of their scale`);
    if (!agreement.ok || (plainAgreement && !plainAgreement.ok)) throw new Error('the engines disagree; nothing timed');

    const samples = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<EngineName, number[]>;
    for (let r = -o.warmups; r < o.rounds; r++) {
      const took: Partial<Record<EngineName, number>> = {};
      for (const name of roundOrder(names, r)) {
        const t0 = now();
        await engines[name]!();
        took[name] = now() - t0;
      }
      if (r >= 0) for (const name of names) samples[name].push(took[name]!);
      env.log(`${r < 0 ? `warm-up ${r + o.warmups + 1}/${o.warmups}` : `round ${r + 1}/${o.rounds}`}: ` +
        names.map((name) => `${labels[name]} ${ms(took[name]!)}`).join(', ') + ' ms');
    }
    return { names, samples, agreement, plainAgreement, device: describeDevice(ours.device()), ortThreads };
  } finally {
    ours.dispose();
    plain?.dispose();
    await peer.dispose();
  }
}
