// Projection of the paper's full fv protocol from measured per-tap step times (bundled by bench/fv.mjs).
// Cost per step grows with depth; a step's time is modelled as a + b * MACs(input -> tap), the line
// through the measured taps (least squares with more than two; a constant with one).
import { macsToTap, stepSecondsModel } from '../src/featureviz/projection';
import { paperProbeTaps } from '../src/featureviz/fv-node';

export { macsToTap };

export interface Projection {
  probes: number;
  steps: number;
  batch: number;
  batches: number;
  totalSeconds: number;
  perTap: { block: string; readout: string; tap: string; batches: number; stepSeconds: number; seconds: number }[];
}

export function projectPaper(measured: Record<string, number>, batch = 64, size = 224, steps = 2560): Projection {
  const stepSeconds = stepSecondsModel(measured, size);
  const perTap = paperProbeTaps().map((p) => {
    const batches = Math.ceil(p.channels / batch);
    const s = stepSeconds(p.tap);
    return { block: p.block, readout: p.readout, tap: p.tap, batches, stepSeconds: s, seconds: batches * steps * s };
  });
  return {
    probes: paperProbeTaps().reduce((a, p) => a + p.channels, 0), steps, batch,
    batches: perTap.reduce((a, p) => a + p.batches, 0), totalSeconds: perTap.reduce((a, p) => a + p.seconds, 0), perTap,
  };
}
