// WebGPU in Node through Dawn's bindings (npm 'webgpu'). Node-only: never imported by src/index.ts.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { GpuContext, WebGpuUnavailableError } from './context';

export type AdapterChoice = 'swiftshader' | 'lavapipe' | 'default';

const SWIFTSHADER_ICDS = [
  '/usr/lib/chromium/vk_swiftshader_icd.json',
  '/usr/lib/chromium-browser/vk_swiftshader_icd.json',
  '/opt/google/chrome/vk_swiftshader_icd.json',
];
const LAVAPIPE_ICDS = [
  '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json',
  '/usr/share/vulkan/icd.d/lvp_icd.aarch64.json',
  '/usr/share/vulkan/icd.d/lvp_icd.json',
];

/** The faster CPU adapter present here: lavapipe (Mesa 25) if installed, else SwiftShader. */
export function defaultCpuAdapter(): AdapterChoice {
  return LAVAPIPE_ICDS.some((p) => existsSync(p)) ? 'lavapipe' : 'swiftshader';
}

let installed: GPU | null = null;
let installedChoice: AdapterChoice | null = null;

/**
 * Point the Vulkan loader at the chosen driver and create navigator.gpu from Dawn. The loader reads
 * VK_ICD_FILENAMES once per process, so the first choice holds for the process.
 */
export function installNodeWebGpu(choice: AdapterChoice = 'default'): GPU {
  if (installed) {
    if (installedChoice !== choice && choice !== 'default') {
      throw new Error(`this process already uses the '${installedChoice}' adapter; start a new process for '${choice}'`);
    }
    return installed;
  }
  if (choice !== 'default') {
    const candidates = choice === 'swiftshader' ? SWIFTSHADER_ICDS : LAVAPIPE_ICDS;
    const icd = candidates.find((p) => existsSync(p));
    if (!icd) {
      throw new WebGpuUnavailableError(choice === 'swiftshader'
        ? 'SwiftShader not found: install Debian\'s chromium (it ships vk_swiftshader_icd.json) and libvulkan1'
        : 'lavapipe not found: install mesa-vulkan-drivers (Mesa 25 from bookworm-backports) and libvulkan1');
    }
    process.env.VK_ICD_FILENAMES = icd;
    delete process.env.VK_DRIVER_FILES;
  } else if (!process.env.VK_ICD_FILENAMES && !process.env.VK_DRIVER_FILES) {
    // No GPU driver configured: prefer a real GPU if the loader finds one, else fall back to SwiftShader.
    const icd = SWIFTSHADER_ICDS.find((p) => existsSync(p));
    if (icd && !hasSystemVulkanGpu()) process.env.VK_ICD_FILENAMES = icd;
  }
  // Dawn logs loader warnings when XDG_RUNTIME_DIR is unset; they are harmless.
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  const require = createRequire(import.meta.url);
  let webgpu: { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
  try {
    webgpu = require('webgpu');
  } catch (e) {
    throw new WebGpuUnavailableError(`the 'webgpu' package (Dawn for Node) could not be loaded: ${(e as Error).message}`);
  }
  Object.assign(globalThis, webgpu.globals);
  installed = webgpu.create([]);
  installedChoice = choice;
  if (!(globalThis as { navigator?: unknown }).navigator) {
    (globalThis as { navigator?: unknown }).navigator = { gpu: installed };
  }
  return installed;
}

function hasSystemVulkanGpu(): boolean {
  // NVIDIA / AMD / Intel ICDs live in these folders; lavapipe's file there does not count as a GPU.
  for (const dir of ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/nvidia/share/vulkan/icd.d']) {
    try {
      const { readdirSync } = createRequire(import.meta.url)('node:fs') as typeof import('node:fs');
      if (readdirSync(dir).some((f: string) => /nvidia|radeon|intel/.test(f) && existsSync('/dev/dri'))) return true;
      if (readdirSync(dir).some((f: string) => /nvidia/.test(f))) return true;
    } catch {
      /* folder absent */
    }
  }
  return false;
}

export async function createNodeContext(choice: AdapterChoice = 'default'): Promise<GpuContext> {
  const gpu = installNodeWebGpu(choice);
  return GpuContext.create({ gpu });
}
