// Files written so that a crash or a kill leaves the old content or the new, never a part. Node only.

import { open, rename } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** fsync a directory, so a rename in it survives a power loss (not possible on every platform). */
async function syncDirectory(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // Windows cannot open directories; the rename is still atomic there.
  } finally {
    await fh?.close();
  }
}

/** Write `data` to `path` through `<path>.tmp` + fsync + rename: readers see the old file or the new one, never a part. */
export async function writeFileAtomic(path: string, data: string | Uint8Array, tmp = `${path}.tmp`): Promise<void> {
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  await syncDirectory(dirname(path));
}

/**
 * A file's bytes as a Uint8Array over the Buffer Node read them into: no second copy (`new
 * Uint8Array(buffer)` would copy). A checkpoint read this way and loaded holds the file plus the
 * float32 tensors made from it, and the file's bytes are garbage once the loader returns.
 */
export function readFileBytes(path: string): Uint8Array {
  const buffer = readFileSync(path);
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}
