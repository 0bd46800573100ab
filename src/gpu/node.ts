// WebGPU in Node through Dawn's bindings (npm 'webgpu'). Node-only: never imported by src/index.ts.
//
// The Vulkan loader is pointed at a driver through VK_ICD_FILENAMES; Dawn reads it each time an
// instance is created, so one process can try several drivers in turn.

import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { GpuContext, WebGpuUnavailableError } from './context';

export type AdapterChoice = 'swiftshader' | 'lavapipe' | 'default';

const SWIFTSHADER_ICDS = [
  '/usr/lib/chromium/vk_swiftshader_icd.json',
  '/usr/lib/chromium-browser/vk_swiftshader_icd.json',
  '/opt/google/chrome/vk_swiftshader_icd.json',
];
// Mesa 25 (bookworm-backports) installs lvp_icd.json; older Mesa used an arch suffix, and Dawn
// rejects Mesa 22's lavapipe (it lacks shaderUniform*ArrayDynamicIndexing), so we test by trying.
const LAVAPIPE_ICDS = [
  '/usr/share/vulkan/icd.d/lvp_icd.json',
  '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json',
  '/usr/share/vulkan/icd.d/lvp_icd.aarch64.json',
];
const GPU_ICD_DIRS = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/nvidia/share/vulkan/icd.d'];

type DawnModule = { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
let dawn: DawnModule | null = null;

function loadDawn(): DawnModule {
  if (dawn) return dawn;
  try {
    dawn = createRequire(import.meta.url)('webgpu') as DawnModule;
  } catch (e) {
    throw new WebGpuUnavailableError(`the 'webgpu' package (Dawn for Node) could not be loaded: ${(e as Error).message}`);
  }
  Object.assign(globalThis, dawn.globals);
  // Dawn's loader warns when XDG_RUNTIME_DIR is unset; harmless, so give it one.
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  return dawn;
}

/** The faster CPU adapter that may be present here: lavapipe if Mesa installed it, else SwiftShader. */
export function defaultCpuAdapter(): AdapterChoice {
  return LAVAPIPE_ICDS.some((p) => existsSync(p)) ? 'lavapipe' : 'swiftshader';
}

function hasGpuIcd(): boolean {
  return GPU_ICD_DIRS.some((dir) => {
    try {
      return readdirSync(dir).some((f) => /nvidia|radeon|amd|intel/i.test(f)) && (existsSync('/dev/dri') || existsSync('/dev/nvidia0'));
    } catch {
      return false;
    }
  });
}

/**
 * Entry points already made, one per driver setting, kept for the life of the process. Dawn tears
 * an instance down when its entry point is garbage-collected; when that instance's device had been
 * lost with work in flight, the teardown crashes the process if another instance is busy (seen on
 * lavapipe: "futex facility returned an unexpected error code"). Reusing one instance per driver
 * avoids both the teardown and a new instance per context.
 */
const entries = new Map<string, GPU>();

/** A GPU entry point whose Vulkan loader sees only `icd` (or the system's drivers when null). */
function gpuFor(icd: string | null, userDriverEnv: { icd?: string; drivers?: string }): GPU {
  const key = JSON.stringify([icd, icd ? null : userDriverEnv]);
  const known = entries.get(key);
  if (known) return known;
  const { create } = loadDawn();
  if (icd) {
    process.env.VK_ICD_FILENAMES = icd;
    delete process.env.VK_DRIVER_FILES;
  } else {
    if (userDriverEnv.icd !== undefined) process.env.VK_ICD_FILENAMES = userDriverEnv.icd;
    else delete process.env.VK_ICD_FILENAMES;
    if (userDriverEnv.drivers !== undefined) process.env.VK_DRIVER_FILES = userDriverEnv.drivers;
  }
  const gpu = create([]);
  entries.set(key, gpu);
  return gpu;
}

/**
 * A GPU context in Node. 'swiftshader' and 'lavapipe' insist on that CPU driver; 'default' takes
 * what the user's VK_ICD_FILENAMES / VK_DRIVER_FILES name, else a real GPU if one is installed,
 * else lavapipe, else SwiftShader, whichever first gives an adapter.
 */
export async function createNodeContext(choice: AdapterChoice = 'default'): Promise<GpuContext> {
  const userDriverEnv = { icd: process.env.VK_ICD_FILENAMES, drivers: process.env.VK_DRIVER_FILES };
  const candidates: (string | null)[] = [];
  const swiftshader = SWIFTSHADER_ICDS.filter((p) => existsSync(p));
  const lavapipe = LAVAPIPE_ICDS.filter((p) => existsSync(p));
  if (choice === 'swiftshader') {
    if (!swiftshader.length) throw new WebGpuUnavailableError('SwiftShader not found: install Debian\'s chromium (it ships vk_swiftshader_icd.json) and libvulkan1');
    candidates.push(...swiftshader);
  } else if (choice === 'lavapipe') {
    if (!lavapipe.length) throw new WebGpuUnavailableError('lavapipe not found: install mesa-vulkan-drivers (Mesa 25, from bookworm-backports on Debian 12) and libvulkan1');
    candidates.push(...lavapipe);
  } else {
    if (userDriverEnv.icd || userDriverEnv.drivers || hasGpuIcd()) candidates.push(null);
    candidates.push(...lavapipe, ...swiftshader);
  }
  const tried: string[] = [];
  for (const icd of candidates) {
    const gpu = gpuFor(icd, userDriverEnv);
    try {
      return await GpuContext.create({ gpu });
    } catch (e) {
      tried.push(`${icd ?? 'system Vulkan drivers'}: ${(e as Error).message}`);
    }
  }
  throw new WebGpuUnavailableError(`no WebGPU adapter found (${tried.join('; ') || 'no Vulkan driver installed: install libvulkan1 and chromium or mesa-vulkan-drivers'})`);
}
