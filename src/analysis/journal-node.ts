// Node only: a run journal stored as a JSON-lines file (one entry per line, appended and flushed to
// disk batch by batch). A line cut short by a crash is dropped on the next open, and the run resumes
// from the last complete batch.

import { createReadStream } from 'node:fs';
import { mkdir, open, stat, truncate } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import type { Journal, JournalEntry } from './journal';

export class FileJournal implements Journal {
  readonly path: string;
  private repaired = false;

  constructor(path: string) {
    this.path = path;
  }

  /** Drop a trailing partial line (a write interrupted by a crash), so appends start on a fresh line. */
  private async repair(): Promise<void> {
    if (this.repaired) return;
    this.repaired = true;
    let size: number;
    try {
      size = (await stat(this.path)).size;
    } catch {
      return; // no journal yet
    }
    if (size === 0) return;
    // Find the last newline, reading backwards in chunks.
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
    if (keep < size) await truncate(this.path, keep);
  }

  async *entries(): AsyncIterable<JournalEntry> {
    await this.repair();
    try {
      await stat(this.path);
    } catch {
      return;
    }
    const lines = createInterface({ input: createReadStream(this.path, { encoding: 'utf8' }), crlfDelay: Infinity });
    let lineNumber = 0;
    for await (const line of lines) {
      lineNumber++;
      if (line.trim() === '') continue;
      try {
        yield JSON.parse(line) as JournalEntry;
      } catch {
        throw new Error(`${this.path}:${lineNumber}: journal line is not valid JSON; delete the journal to start the run afresh`);
      }
    }
  }

  async append(entry: JournalEntry): Promise<void> {
    await this.repair();
    await mkdir(dirname(this.path), { recursive: true });
    const fh = await open(this.path, 'a');
    try {
      await fh.write(`${JSON.stringify(entry)}\n`);
      await fh.datasync();
    } finally {
      await fh.close();
    }
  }
}
