// Measured kernel choices kept between runs: one JSON file per adapter in the cache folder
// ($RESNET_STREAM_CACHE or ~/.cache/resnet-stream, under kernels/), read when an engine that measures
// is made and rewritten (atomically) each time a measurement adds shapes. A file of another kernel
// version, another adapter or unreadable JSON is ignored and measured again, never trusted.

import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AdapterDescription } from '../gpu/context';
import { type KernelTable, adapterKey, kernelTableFits } from '../model/tune';
import { writeFileAtomic } from '../util/files-node';
import { defaultCacheDir } from '../../weights/download.mjs';

/** The table file of an adapter: kernels/<readable name>-<hash of its identity>.json. */
export function kernelTablePath(adapter: AdapterDescription, env: Record<string, string | undefined> = process.env): string {
  const key = adapterKey(adapter);
  const slug = `${adapter.name || 'adapter'}`.replace(/[^A-Za-z0-9_.-]+/g, '-').slice(0, 40);
  return join(defaultCacheDir(env), 'kernels', `${slug}-${createHash('sha256').update(key).digest('hex').slice(0, 12)}.json`);
}

/** The table measured before on this adapter, or undefined (none, unreadable, or not for it). */
export function readKernelTable(adapter: AdapterDescription, env?: Record<string, string | undefined>): KernelTable | undefined {
  try {
    const table = JSON.parse(readFileSync(kernelTablePath(adapter, env), 'utf8')) as KernelTable;
    return kernelTableFits(table, adapter) ? table : undefined;
  } catch {
    return undefined;
  }
}

/** Write the table where readKernelTable finds it. */
export async function writeKernelTable(adapter: AdapterDescription, table: KernelTable, env?: Record<string, string | undefined>): Promise<string> {
  const path = kernelTablePath(adapter, env);
  mkdirSync(join(path, '..'), { recursive: true });
  await writeFileAtomic(path, `${JSON.stringify(table, null, 1)}\n`, `${path}.${process.pid}.tmp`);
  return path;
}
