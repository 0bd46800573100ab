// One CSV per block: a row per channel with every per-channel number of analysis.json (RFC 4180 quoting,
// empty cells for undefined values, probe images joined with ';'). Browser-safe.

import type { BlockResult, ChannelResult } from '../analysis/analyze';

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const COLUMNS: [string, (b: BlockResult, c: ChannelResult) => unknown][] = [
  ['block', (b) => b.block],
  ['channel', (_b, c) => c.channel],
  ['mix', (_b, c) => c.mix],
  ['mix_case', (_b, c) => c.mixCase],
  ['category', (_b, c) => c.category],
  ['side', (_b, c) => c.side],
  ['scale_branch', (_b, c) => c.scaleBranch],
  ['scale_input', (_b, c) => c.scaleInput],
  ['scale_invariant', (_b, c) => c.scaleInvariant],
  ['no_mix', (_b, c) => c.noMix],
  ['output_on_input', (_b, c) => c.readouts.outputOnInput],
  ['output_on_branch', (_b, c) => c.readouts.outputOnBranch],
  ['branch_on_input', (_b, c) => c.readouts.branchOnInput],
  ['branch_on_branch', (_b, c) => c.readouts.branchOnBranch],
  ['input_on_input', (_b, c) => c.readouts.inputOnInput],
  ['input_on_branch', (_b, c) => c.readouts.inputOnBranch],
  ['relu_branch_on_input', (_b, c) => c.readouts.reluBranchOnInput],
  ['relu_branch_on_zoomed_input', (_b, c) => c.readouts.reluBranchOnZoomedInput],
  ['relu_input_on_branch', (_b, c) => c.readouts.reluInputOnBranch],
  ['relu_input_on_zoomed_out_branch', (_b, c) => c.readouts.reluInputOnZoomedOutBranch],
  ['tuning_rho', (_b, c) => c.tuningRho],
  ['tuning_p', (_b, c) => c.tuningP],
  ['tuning_images', (_b, c) => c.tuningImages],
  ['bn2_gamma_abs', (_b, c) => c.bn2GammaAbs],
  ['conv2_mean_abs_weight', (_b, c) => c.conv2MeanAbsWeight],
  ['probes_input', (_b, c) => c.probes.input.join(';')],
  ['probes_branch', (_b, c) => c.probes.branch.join(';')],
  ['probes_output', (_b, c) => c.probes.output.join(';')],
];

/** The CSV text of one block (header row first, CRLF line ends as RFC 4180 says). */
export function blockCsv(block: BlockResult): string {
  const factors = block.channels[0]?.sweep?.map((p) => p.factor) ?? [];
  const header = [...COLUMNS.map(([name]) => name), ...factors.map((f) => `scale_branch_zoom_${f.toFixed(2)}`)];
  const rows = block.channels.map((c) => [
    ...COLUMNS.map(([, get]) => cell(get(block, c))),
    ...factors.map((_f, i) => cell(c.sweep?.[i]?.scaleBranch ?? null)),
  ].join(','));
  return `${[header.join(','), ...rows].join('\r\n')}\r\n`;
}

/** File name of a block's CSV: 'block-2.1.csv'. */
export function blockCsvName(block: string): string {
  return `block-${block}.csv`;
}
