// A run's batches as the journal recorded them, then live: the journal's header is checked against
// the run's configuration, the recorded batches are replayed in order (each checked against the batch
// the run plans next), and every batch computed after them is appended. So an interrupted run,
// started again, replays without GPU work and computes only what is missing. Browser-safe (the
// journal is an interface; the file one is src/cli/journal-node.ts).

import {
  type Journal, type JournalBatch, type JournalEntry, type RunConfig, type Transform, configHash, decodeFloat32, encodeFloat32,
} from './journal';

export const START_AFRESH = 'to start afresh, delete the journal (resnet-stream analyze --restart) or write to another directory';

/** The stored journal belongs to another run (different blocks, images, k, batch size, ...). */
export class JournalMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JournalMismatchError';
  }
}

function sameList<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function toIterator(entries: AsyncIterable<JournalEntry> | Iterable<JournalEntry>): AsyncIterator<JournalEntry> | Iterator<JournalEntry> {
  return Symbol.asyncIterator in entries
    ? (entries as AsyncIterable<JournalEntry>)[Symbol.asyncIterator]()
    : (entries as Iterable<JournalEntry>)[Symbol.iterator]();
}

/** 'topK: journal 4, now 5; meta.weights: journal "a.pth", now "b.pth"' (`b` is the journal's). */
function describeConfigDifference(a: RunConfig, b: RunConfig): string {
  const differences = (x: Record<string, unknown>, y: Record<string, unknown>, prefix: string): string[] => {
    const keys = [...new Set([...Object.keys(x), ...Object.keys(y ?? {})])];
    return keys.flatMap((k) => {
      const now = x[k];
      const then = y?.[k];
      if (JSON.stringify(now) === JSON.stringify(then)) return [];
      // Descend into the metadata, so the message names the field (weightsSha256), not the whole object.
      if (k === 'meta' && !prefix && now && typeof now === 'object' && then && typeof then === 'object') {
        return differences(now as Record<string, unknown>, then as Record<string, unknown>, 'meta.');
      }
      return [`${prefix}${k}: journal ${JSON.stringify(then) ?? 'absent'}, now ${JSON.stringify(now) ?? 'absent'}`];
    });
  };
  const found = differences(a as unknown as Record<string, unknown>, b as unknown as Record<string, unknown>, '');
  return found.length ? found.join('; ') : 'a different configuration hash';
}

/** The batches of one run: replayed from its journal while it lasts, then computed and recorded. */
export class JournalledBatches {
  /** Batches replayed from the journal and computed live, so far. */
  replayed = 0;
  computed = 0;

  private constructor(private readonly journal: Journal | undefined,
    private reader: AsyncIterator<JournalEntry> | Iterator<JournalEntry> | null,
    /** When the run first started (the journal header's date on a resume). */
    readonly createdAt: string,
    /** Whether the journal held entries of this run. */
    readonly resumed: boolean) {}

  /** Check the journal's header against `config`, or write one (a fresh run). */
  static async open(journal: Journal | undefined, config: RunConfig, now: () => Date): Promise<JournalledBatches> {
    const hash = configHash(config);
    const reader = journal ? toIterator(journal.entries()) : null;
    const first = reader ? await reader.next() : { done: true as const, value: undefined };
    if (first.done) {
      const createdAt = now().toISOString();
      await journal?.append({ type: 'header', version: 1, configHash: hash, config, createdAt });
      return new JournalledBatches(journal, null, createdAt, false);
    }
    const header = first.value;
    if (header.type !== 'header') throw new JournalMismatchError(`journal does not start with a header entry; ${START_AFRESH}`);
    if (header.configHash !== hash) {
      throw new JournalMismatchError(`journal belongs to a different run (${describeConfigDifference(config, header.config)}); ${START_AFRESH}`);
    }
    return new JournalledBatches(journal, reader, header.createdAt, true);
  }

  /**
   * The values of batch `key` (images `indices`, `taps`): the journal's next entry, which must be this
   * batch with `length(tap)` values per tap, or, once the journal is exhausted, `live()`, recorded.
   */
  async next(key: string, transform: Transform, indices: number[], taps: string[], length: (tap: string) => number,
    live: () => Promise<Map<string, Float32Array>>): Promise<{ values: Map<string, Float32Array>; replayed: boolean }> {
    if (this.reader) {
      const next = await this.reader.next();
      if (!next.done) {
        const e = next.value;
        this.replayed++;
        if (e.type !== 'batch' || e.key !== key || e.transform !== transform || !sameList(e.images, indices) || !sameList(e.taps, taps)) {
          throw new JournalMismatchError(`journal entry ${this.replayed} (${e.type === 'batch' ? e.key : e.type}) does not match the planned batch ${key}; ${START_AFRESH}`);
        }
        const values = new Map<string, Float32Array>();
        for (const tap of taps) {
          const v = decodeFloat32(e.values[tap] ?? '');
          if (v.length !== length(tap)) throw new JournalMismatchError(`journal entry ${key}: ${tap} has ${v.length} values, expected ${length(tap)}`);
          values.set(tap, v);
        }
        return { values, replayed: true };
      }
      this.reader = null; // the journal is exhausted: from here on, live
    }
    this.computed++;
    const values = await live();
    if (this.journal) {
      const entry: JournalBatch = { type: 'batch', key, transform, images: indices, taps, values: {} };
      for (const tap of taps) entry.values[tap] = encodeFloat32(values.get(tap) as Float32Array);
      await this.journal.append(entry);
    }
    return { values, replayed: false };
  }

  /** Close a journal reader left open by an error mid-replay (a file stays open otherwise). */
  async close(): Promise<void> {
    if (this.reader && typeof this.reader.return === 'function') await this.reader.return();
  }
}
