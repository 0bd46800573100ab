// The per-block computation of METHOD.md: from a block's measurements (its readouts' centre values on
// the probe sets, original and zoomed) to every channel's M, category, SM_B, SM_I and criteria and the
// block's summary and secondary statistics. Pure; the same code serves dataset and fv probes.

import {
  MIX_UNDEFINED_REASON, blockFractions, category, exemplarMixtures, mixHistogram, mixRatio, mixSpecialCase, noMix,
  scaleBranch, scaleInput, scaleInvariant, side, sweepSummary, topScaleInvariant, zoomSweep,
} from './metrics';
import { probeSetReadout, probeSetReadoutRelu } from './probes';
import { type Architecture, blockByName } from '../model/architecture';
import { blockNames, readoutsFor } from './readouts';
import {
  type BlockMeasurements, type BlockParams, type BlockResult, type BlockSummary, type ChannelReadouts, type ChannelResponses,
  type ChannelResult, GAMMA_FOLDED_NOTE, type SecondaryStats,
} from './schema';
import { anovaAtMixSplit, spearmanAgainstMix } from './stats';

const orNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

function channelReadouts(r: ChannelResponses): ChannelReadouts {
  return {
    outputOnInput: orNull(probeSetReadout(r.outputOnInput)),
    outputOnBranch: orNull(probeSetReadout(r.outputOnBranch)),
    branchOnInput: orNull(probeSetReadout(r.branchOnInput)),
    branchOnBranch: orNull(probeSetReadout(r.branchOnBranch)),
    inputOnInput: orNull(probeSetReadout(r.inputOnInput)),
    inputOnBranch: orNull(probeSetReadout(r.inputOnBranch)),
    reluBranchOnInput: orNull(probeSetReadoutRelu(r.branchOnInput)),
    reluBranchOnZoomedInput: orNull(probeSetReadoutRelu(r.branchOnZoomedInput)),
    reluInputOnBranch: orNull(probeSetReadoutRelu(r.inputOnBranch)),
    reluInputOnZoomedOutBranch: orNull(probeSetReadoutRelu(r.inputOnZoomedOutBranch)),
  };
}

const nz = (x: number | null): number => (x === null ? NaN : x);

/** Per-channel |gamma| and mean |W| from the block's parameters (nulls where absent or malformed). */
function paramColumns(params: BlockParams | undefined, channels: number): { gamma: (number | null)[]; weight: (number | null)[]; notes: string[] } {
  const gamma = new Array<number | null>(channels).fill(null);
  const weight = new Array<number | null>(channels).fill(null);
  const notes: string[] = [];
  if (params?.bn2Gamma) {
    if (params.bn2Gamma.length !== channels) notes.push(`bn2 gamma has ${params.bn2Gamma.length} values, expected ${channels}: ignored`);
    else for (let c = 0; c < channels; c++) gamma[c] = orNull(Math.abs(params.bn2Gamma[c]));
  }
  if (params?.conv2Weight) {
    const per = params.conv2Weight.length / channels;
    if (!Number.isInteger(per) || per === 0) notes.push(`conv2 weight has ${params.conv2Weight.length} values, not a multiple of ${channels}: ignored`);
    else {
      for (let c = 0; c < channels; c++) {
        let s = 0;
        for (let i = c * per; i < (c + 1) * per; i++) s += Math.abs(params.conv2Weight[i]);
        weight[c] = orNull(s / per);
      }
    }
  }
  return { gamma, weight, notes };
}

/** Everything METHOD.md computes for one block, from its measurements. Pure. */
export function analyzeBlock(m: BlockMeasurements): BlockResult {
  const C = m.readouts.channels;
  if (m.responses.length !== C) throw new Error(`block ${m.readouts.block}: ${m.responses.length} channel responses, expected ${C}`);
  const { gamma, weight, notes } = paramColumns(m.params, C);
  const channels: ChannelResult[] = [];
  const special: ('skip' | 'overwrite' | null)[] = [];
  for (let c = 0; c < C; c++) {
    const r = m.responses[c];
    const ro = channelReadouts(r);
    const mix = mixRatio(nz(ro.outputOnInput), nz(ro.outputOnBranch));
    const sp = mixSpecialCase(nz(ro.outputOnInput), nz(ro.outputOnBranch));
    special.push(sp);
    const smB = scaleBranch(nz(ro.reluBranchOnZoomedInput), nz(ro.reluBranchOnInput), nz(ro.branchOnBranch));
    const smI = scaleInput(nz(ro.reluInputOnZoomedOutBranch), nz(ro.reluInputOnBranch), nz(ro.inputOnInput));
    const t = m.tuning?.[c];
    const result: ChannelResult = {
      channel: c,
      mix,
      category: category(mix),
      scaleBranch: smB,
      scaleInput: smI,
      scaleInvariant: scaleInvariant(mix, smB, smI),
      noMix: noMix(smB, smI),
      mixCase: mix === null ? 'undefined' : sp === 'skip' ? 'pure-skip' : sp === 'overwrite' ? 'pure-overwrite' : 'ratio',
      side: side(mix),
      readouts: ro,
      tuningRho: t ? t.rho : null,
      tuningP: t ? t.p : null,
      tuningImages: t ? t.n : null,
      bn2GammaAbs: gamma[c],
      conv2MeanAbsWeight: weight[c],
      probes: { input: m.probes.input[c] ?? [], branch: m.probes.branch[c] ?? [], output: m.probes.output[c] ?? [] },
    };
    if (r.sweep) {
      result.sweep = zoomSweep(
        r.sweep.map((s) => ({ factor: s.factor, reluBranchOnZoomedInputProbe: probeSetReadoutRelu(s.branchOnZoomedInput) })),
        nz(ro.reluBranchOnInput),
        nz(ro.branchOnBranch),
      );
      // Keep key order stable: probes last.
      const { probes, ...rest } = result;
      channels.push({ ...rest, probes });
    } else {
      channels.push(result);
    }
  }

  const mixes = channels.map((c) => c.mix);
  const undefinedMix = channels.filter((c) => c.mix === null).map((c) => c.channel);
  if (undefinedMix.length) notes.push(`M undefined (${MIX_UNDEFINED_REASON}) for channel${undefinedMix.length > 1 ? 's' : ''} ${undefinedMix.join(', ')}`);
  if (!m.tuning) notes.push('tuning curves not available: tuning-curve correlations not computed');

  let gammaVsMix: SecondaryStats['gammaVsMix'] = null;
  if (m.params?.bn2Gamma && gamma.some((g) => g !== null)) {
    const folded = Array.from(m.params.bn2Gamma).every((g) => g === 1);
    gammaVsMix = { spearman: spearmanAgainstMix(gamma, mixes), note: folded ? GAMMA_FOLDED_NOTE : null };
    if (folded) notes.push(`|gamma| vs M: ${GAMMA_FOLDED_NOTE}`);
  }
  const weightVsMix = weight.some((w) => w !== null) ? { spearman: spearmanAgainstMix(weight, mixes) } : null;
  const tuningRhos = channels.map((c) => c.tuningRho);

  const summary: BlockSummary = {
    fractions: blockFractions(channels, special),
    histogram: mixHistogram(mixes),
    exemplarMixtures: exemplarMixtures(channels),
    topScaleInvariant: topScaleInvariant(channels),
    undefinedMix,
    secondary: {
      branchOnInputVsMix: anovaAtMixSplit(channels.map((c) => c.readouts.branchOnInput), mixes),
      tuningVsMix: m.tuning ? { anova: anovaAtMixSplit(tuningRhos, mixes), spearman: spearmanAgainstMix(tuningRhos, mixes) } : null,
      gammaVsMix,
      weightVsMix,
    },
    notes,
  };
  if (channels.some((c) => c.sweep)) summary.sweep = sweepSummary(channels);
  const { readouts } = m;
  return { block: readouts.block, input: readouts.input, branch: readouts.branch, output: readouts.output, variant: readouts.variant, channels, summary };
}

/** Blocks in forward order (the order of the report's panels and of analysis.json); default ResNet18. */
export function sortBlocks(blocks: readonly string[], arch?: Architecture): string[] {
  const all = blockNames(arch);
  const short = (b: string) => readoutsFor(b, 'post-relu', arch).block;
  const order = (b: string) => all.indexOf(b);
  return [...new Set(blocks.map(short))].sort((a, b) => order(a) - order(b));
}

/**
 * The parameters of a block for the secondary analyses, from a loaded state dict (absent tensors stay
 * absent): the branch's last BN and conv, whose output channels are the stream's (bn2/conv2 in a
 * BasicBlock, bn3/conv3 in a Bottleneck; the fields keep the paper's names).
 */
export function blockParamsFrom(tensors: ReadonlyMap<string, { data: ArrayLike<number> }>, block: string, arch?: Architecture): BlockParams {
  const branch = blockByName(block, arch).branch;
  const last = branch[branch.length - 1]; // conv2 + bn2, or conv3 + bn3
  return {
    bn2Gamma: tensors.get(`${last.bn}.weight`)?.data,
    conv2Weight: tensors.get(`${last.conv}.weight`)?.data,
  };
}
