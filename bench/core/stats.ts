// Timing: warm-ups, then timed runs until the count is reached (or a time budget is spent, which
// marks the measure as reduced), and the summary statistics the reports quote.

export interface TimingPlan {
  warmups: number;
  runs: number;
  /** Stop early after this many seconds of timed runs (at least `minRuns` runs); 0 = no budget. */
  budgetSeconds?: number;
  minRuns?: number;
}

export interface Timing {
  /** Every timed run, ms, in order. */
  samples: number[];
  n: number;
  warmups: number;
  median: number;
  min: number;
  max: number;
  mean: number;
  /** Set when fewer runs than planned were taken (budget) or the plan itself was reduced. */
  reduced?: string;
}

export const now = (): number => (globalThis.performance ?? { now: () => Date.now() }).now();

/** The median (the mean of the middle two of an even count; NaN of none). */
export function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length === 0 ? NaN : sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function summarize(samples: number[], warmups: number, reduced?: string): Timing {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    samples: samples.map((s) => Math.round(s * 1000) / 1000),
    n: samples.length,
    warmups,
    median: median(samples),
    min: sorted[0] ?? NaN,
    max: sorted[sorted.length - 1] ?? NaN,
    mean: samples.reduce((a, b) => a + b, 0) / Math.max(1, samples.length),
    ...(reduced ? { reduced } : {}),
  };
}

/** Time `fn` (which must include its own readback / completion wait). */
export async function timeRuns(fn: () => Promise<unknown>, plan: TimingPlan, label = '',
  log: (s: string) => void = () => {}): Promise<Timing> {
  for (let i = 0; i < plan.warmups; i++) {
    const t0 = now();
    await fn();
    log(`${label} warm-up ${i + 1}/${plan.warmups}: ${(now() - t0).toFixed(1)} ms`);
  }
  const samples: number[] = [];
  const start = now();
  const minRuns = Math.min(plan.minRuns ?? 3, plan.runs);
  let reduced: string | undefined;
  for (let i = 0; i < plan.runs; i++) {
    const t0 = now();
    await fn();
    samples.push(now() - t0);
    if ((i + 1) % 5 === 0 || i === plan.runs - 1) log(`${label} run ${i + 1}/${plan.runs}: ${samples[i].toFixed(1)} ms`);
    const spent = (now() - start) / 1000;
    if (plan.budgetSeconds && spent > plan.budgetSeconds && samples.length >= minRuns && i < plan.runs - 1) {
      reduced = `stopped after ${samples.length} of ${plan.runs} runs: time budget of ${plan.budgetSeconds} s spent`;
      log(`${label}: ${reduced}`);
      break;
    }
  }
  return summarize(samples, plan.warmups, reduced);
}
