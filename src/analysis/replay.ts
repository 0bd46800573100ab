// A run's batches as the journal recorded them, then live: the journal's header is checked against
// the run's configuration, the recorded batches are replayed in order (each checked against the batch
// the run plans next), and every batch computed after them is appended. So an interrupted run,
// started again, replays without GPU work and computes only what is missing. Browser-safe (the
// journal is an interface; the file one is src/cli/journal-node.ts).

import {
  type Journal, type JournalBatch, type JournalEntry, type JournalHeader, type JournalImage, type RunConfig, type Transform, configHash,
  decodeFloat32, encodeFloat32,
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
export function describeConfigDifference(a: RunConfig, b: RunConfig): string {
  const found = configDifferences(a, b);
  return found.length ? found.join('; ') : 'a different configuration hash';
}

/**
 * The fields in which two configurations differ, one phrase each, `b`'s value named `then` and `a`'s
 * `now` (see describeConfigDifference); fields in `ignore` ('shard.index') are left out.
 */
export function configDifferences(a: RunConfig, b: RunConfig, then = 'journal', now = 'now', ignore: readonly string[] = []): string[] {
  const differences = (x: Record<string, unknown>, y: Record<string, unknown>, prefix: string): string[] => {
    const keys = [...new Set([...Object.keys(x), ...Object.keys(y ?? {})])].filter((k) => !ignore.includes(`${prefix}${k}`));
    return keys.flatMap((k) => {
      const ours = x[k];
      const theirs = y?.[k];
      if (JSON.stringify(ours) === JSON.stringify(theirs)) return [];
      // Descend into the metadata and the shard, so the message names the field (weightsSha256), not the whole object.
      if ((k === 'meta' || k === 'shard') && !prefix && ours && typeof ours === 'object' && theirs && typeof theirs === 'object') {
        return differences(ours as Record<string, unknown>, theirs as Record<string, unknown>, `${k}.`);
      }
      return [`${prefix}${k}: ${then} ${JSON.stringify(theirs) ?? 'absent'}, ${now} ${JSON.stringify(ours) ?? 'absent'}`];
    });
  };
  return differences(a as unknown as Record<string, unknown>, b as unknown as Record<string, unknown>, '');
}

/** '; contents changed: a.jpg, b.jpg' when the same names now hold other bytes ('' otherwise). */
function changedImages(then: readonly JournalImage[] | undefined, now: readonly JournalImage[] | undefined): string {
  if (!then || !now || then.length !== now.length) return '';
  const changed = now.filter((img, i) => img.name === then[i].name && img.sha256 !== then[i].sha256).map((img) => img.name);
  if (!changed.length) return '';
  return `; contents changed: ${changed.slice(0, 5).join(', ')}${changed.length > 5 ? ` and ${changed.length - 5} more` : ''}`;
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

  /**
   * Check the journal's header against `config`, or write one (a fresh run) with `extra` (the images,
   * network and skipped blocks a merge reads).
   */
  static async open(journal: Journal | undefined, config: RunConfig, now: () => Date,
    extra: Pick<JournalHeader, 'images' | 'architecture' | 'skipped'> = {}): Promise<JournalledBatches> {
    const hash = configHash(config);
    const reader = journal ? toIterator(journal.entries()) : null;
    const first = reader ? await reader.next() : { done: true as const, value: undefined };
    if (first.done) {
      const createdAt = now().toISOString();
      await journal?.append({ type: 'header', version: 1, configHash: hash, config, createdAt, ...extra });
      return new JournalledBatches(journal, null, createdAt, false);
    }
    const header = first.value;
    if (header.type !== 'header') throw new JournalMismatchError(`journal does not start with a header entry; ${START_AFRESH}`);
    if (header.configHash !== hash) {
      const changed = changedImages(header.images, extra.images);
      throw new JournalMismatchError(`journal belongs to a different run (${describeConfigDifference(config, header.config)}${changed}); ${START_AFRESH}`);
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
