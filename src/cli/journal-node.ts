// Node only: a run journal stored as a JSON-lines file, one entry per line, so that a run killed at any
// moment (SIGKILL, a crash, power loss) resumes from its last complete batch.
//
// How it is written:
//   - the header (the first entry) creates the file atomically: written to `<path>.tmp`, fsynced,
//     renamed over `<path>`, and the directory fsynced. A journal therefore never exists without a
//     complete header.
//   - every later entry is appended as one line, `JSON + '\n'` with the newline as its last byte (the
//     write loops on short writes), then fdatasync'ed; `append` resolves only after that, so a batch the
//     analysis has moved past is on disk.
//     Rewriting the whole file through a temp file per batch would make a run quadratic in its length.
// The rule on reading: an append interrupted by a kill can leave only a tail without its newline, since
// the newline is the last byte of every append. Text after the last newline is therefore dropped (the
// file is truncated to the last newline before reading and before appending). Every complete line must
// parse as JSON; one that does not is corruption this writer cannot produce, and the journal is refused
// with its file and line rather than silently skipped.

import { createReadStream } from 'node:fs';
import { mkdir, open, stat, truncate } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import type { Journal, JournalEntry } from '../analysis/journal';
import { writeFileAtomic } from '../util/files-node';

export class FileJournal implements Journal {
  readonly path: string;
  private repaired = false;
  /** Bytes dropped from a torn tail when the journal was opened (0: none). */
  droppedBytes = 0;
  /** Read only (a merge reading a shard's journal): a torn tail is skipped, never truncated, and append throws. */
  readonly readOnly: boolean;
  /** Bytes up to the last newline (what is read). */
  private complete = Infinity;

  constructor(path: string, options: { readOnly?: boolean } = {}) {
    this.path = path;
    this.readOnly = options.readOnly ?? false;
  }

  /** Truncate to the last newline: drops the tail of an append interrupted by a kill (see the rule above). */
  private async repair(): Promise<void> {
    if (this.repaired) return;
    this.repaired = true;
    let size: number;
    try {
      size = (await stat(this.path)).size;
    } catch {
      return; // no journal yet
    }
    this.complete = size;
    if (size === 0) return;
    let keep = 0;
    const fh = await open(this.path, 'r');
    try {
      const CHUNK = 1 << 16;
      const buf = Buffer.alloc(CHUNK);
      let end = size;
      search: while (end > 0) {
        const start = Math.max(0, end - CHUNK);
        const { bytesRead } = await fh.read(buf, 0, end - start, start);
        for (let i = bytesRead - 1; i >= 0; i--) {
          if (buf[i] === 0x0a) {
            keep = start + i + 1;
            break search;
          }
        }
        end = start;
      }
    } finally {
      await fh.close();
    }
    this.complete = keep;
    if (keep < size) {
      this.droppedBytes = size - keep;
      if (!this.readOnly) await truncate(this.path, keep);
    }
  }

  async *entries(): AsyncIterable<JournalEntry> {
    await this.repair();
    try {
      await stat(this.path);
    } catch {
      return;
    }
    if (this.complete === 0) return;
    const input = createReadStream(this.path, { encoding: 'utf8', ...(Number.isFinite(this.complete) ? { end: this.complete - 1 } : {}) });
    const lines = createInterface({ input, crlfDelay: Infinity });
    let lineNumber = 0;
    for await (const line of lines) {
      lineNumber++;
      if (line.trim() === '') continue;
      let entry: JournalEntry;
      try {
        entry = JSON.parse(line) as JournalEntry;
      } catch {
        throw new Error(`${this.path}:${lineNumber}: journal line is not valid JSON; delete the journal (resnet-stream analyze --restart) to start the run afresh`);
      }
      yield entry;
    }
  }

  async append(entry: JournalEntry): Promise<void> {
    if (this.readOnly) throw new Error(`${this.path}: opened read only`);
    await this.repair();
    await mkdir(dirname(this.path), { recursive: true });
    const line = `${JSON.stringify(entry)}\n`;
    let size = 0;
    try {
      size = (await stat(this.path)).size;
    } catch {
      // no journal yet
    }
    if (size === 0) {
      // The first entry (the header) creates the journal atomically.
      await writeFileAtomic(this.path, line);
      return;
    }
    const fh = await open(this.path, 'a');
    try {
      await fh.appendFile(line); // loops on short writes, unlike a single fh.write
      await fh.datasync();
    } finally {
      await fh.close();
    }
  }
}
