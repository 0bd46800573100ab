// The commands' phase progress on stderr, shared by `analyze` and `robustness`. On a terminal: one
// cli-progress bar per phase (images done, rate, ETA). Anywhere else (a pipe, a log file, the CLI
// tests): no bar, just one line per phase when it ends, so logs stay readable.

import cliProgress from 'cli-progress';

export interface PhaseProgressOptions {
  /** What is counted: 'images', 'image passes'. */
  unit: string;
  /** Where it goes (default process.stderr). */
  stream?: NodeJS.WriteStream;
  /** Draw bars (default: whether the stream is a TTY). */
  tty?: boolean;
}

export interface PhaseProgress {
  /**
   * `done` of `total` units of `phase` are finished; `replayed` of them came from a journal without any
   * GPU work (the rate counts only the others). A new phase name ends the previous phase.
   */
  update(phase: string, done: number, total: number, replayed?: number): void;
  /** Ends the current phase (idempotent). Call it in a `finally`. */
  stop(): void;
}

export function phaseProgress(options: PhaseProgressOptions): PhaseProgress {
  const stream = options.stream ?? process.stderr;
  const tty = options.tty ?? Boolean(stream.isTTY);
  const bar = tty
    ? new cliProgress.SingleBar({
      format: `{phase} |{bar}| {value}/{total} ${options.unit} | {rate} img/s | ETA {eta_formatted}`,
      hideCursor: true,
      stream,
    }, cliProgress.Presets.shades_classic)
    : null;
  let phase: string | null = null;
  let start = 0;
  // Updates come after a unit of work, so a phase began when the previous update (or this object) was made.
  let lastUpdate = Date.now();
  let done = 0;
  let total = 0;
  let replayed = 0;

  const rate = (): string => {
    const seconds = (Date.now() - start) / 1000;
    const live = done - replayed;
    return seconds > 0 && live > 0 ? (live / seconds).toFixed(1) : '-';
  };

  const end = (): void => {
    if (phase === null) return;
    if (bar) {
      bar.stop();
    } else {
      const seconds = (Date.now() - start) / 1000;
      const fromJournal = replayed ? `, ${replayed} from the journal` : '';
      stream.write(`${phase}: ${done}/${total} ${options.unit}${fromJournal} in ${seconds.toFixed(1)} s (${rate()} img/s)\n`);
    }
    phase = null;
  };

  return {
    update(name, d, t, r = 0) {
      if (name !== phase) {
        end();
        phase = name;
        start = lastUpdate;
        bar?.start(t, 0, { phase: name.padEnd(16), rate: '-' });
      }
      done = d;
      total = t;
      replayed = r;
      bar?.setTotal(t);
      bar?.update(d, { phase: name.padEnd(16), rate: rate() });
      lastUpdate = Date.now();
    },
    stop: end,
  };
}
