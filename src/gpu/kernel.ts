// A kernel's source, composed from WGSL files: its declared uniform struct (uniforms.ts), shared
// pieces (shaders/parts/) and the kernel's own file, joined as they are, never rewritten. The
// composed code is what the pipeline cache keys on (pipelines.ts), so two compositions can never
// share a module by accident, whatever their labels.

import type { UniformFields, UniformLayout } from './uniforms';

export interface Kernel<F extends UniformFields = UniformFields> {
  /** Names the kernel's shader module and pipelines ('conv2d-rows'). */
  readonly label: string;
  /** The WGSL of the whole module. */
  readonly code: string;
  /** The struct bound at @group(0) @binding(0) as `params`, or null for a kernel without uniforms. */
  readonly params: UniformLayout<F> | null;
}

/**
 * The kernel `label`: the struct of `params` (if any), then `parts` in order. Directives
 * (`enable f16;`), which WGSL wants before any declaration, are moved to the top.
 */
export function kernel<F extends UniformFields>(label: string, params: UniformLayout<F> | null, ...parts: string[]): Kernel<F> {
  const lines = [params?.wgsl ?? '', ...parts].join('\n').split('\n');
  const directive = (line: string) => /^\s*(enable|requires)\s[^;]*;\s*$/.test(line);
  const code = [...lines.filter(directive), ...lines.filter((l) => !directive(l))].join('\n');
  return { label, code, params };
}
