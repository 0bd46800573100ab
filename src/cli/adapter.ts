// The --adapter option of every command: one parser, one resolution (src/gpu/node.ts), and one
// adapter line on stderr that says which adapter was chosen and why.

import type { GpuContext } from '../gpu/context';
import { ADAPTER_CHOICES, adapterLine, createNodeContext, isAdapterChoice } from '../gpu/node';
import { UsageError } from './args';

export const ADAPTER_HELP = `--adapter NAME        ${ADAPTER_CHOICES.join(' | ')} (default: a real GPU, else lavapipe, else
                        SwiftShader: the system's, else the copy shipped in the npm package @sparticuz/chromium)`;

/** Parse --adapter (absent: 'default'), resolve it, and print the adapter line. */
export async function openNodeContext(adapter: string | undefined): Promise<GpuContext> {
  const choice = adapter ?? 'default';
  if (!isAdapterChoice(choice)) throw new UsageError(`--adapter must be one of ${ADAPTER_CHOICES.join(', ')}, not '${choice}'`);
  const context = await createNodeContext(choice);
  process.stderr.write(`${adapterLine(context)}\n`);
  return context;
}

/** Check --adapter early (before slow work), without opening anything. */
export function checkAdapterOption(adapter: string | undefined): void {
  if (adapter !== undefined && !isAdapterChoice(adapter)) {
    throw new UsageError(`--adapter must be one of ${ADAPTER_CHOICES.join(', ')}, not '${adapter}'`);
  }
}
