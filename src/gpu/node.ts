// WebGPU in Node through Dawn's bindings (npm 'webgpu'). Node-only: never imported by src/index.ts.
//
// One adapter resolution for the CLI, the library in Node, the tests and the benchmark:
//   1. a real GPU: whatever Vulkan driver the system has (or VK_ICD_FILENAMES / VK_DRIVER_FILES name);
//   2. Mesa's lavapipe, if installed (a CPU driver, about 4x SwiftShader);
//   3. SwiftShader: Chromium's copy if the system has one, else the copy shipped in the npm package
//      @sparticuz/chromium (src/gpu/shipped-runtime-node.ts), so `npm ci` alone gives a working adapter.
// The Vulkan loader (libvulkan.so.1) is the system's when it has one. On a machine without one,
// the shipped loader is loaded into this process before Dawn looks for it: Dawn asks the dynamic
// linker for "libvulkan.so.1", which answers with an already-loaded library of that name, so no
// LD_LIBRARY_PATH and no second process are needed. The driver is chosen through
// VK_ICD_FILENAMES, which the loader reads each time Dawn creates an instance, so one process can
// try several drivers in turn.

import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import { GpuContext, WebGpuUnavailableError } from './context';
import { type ShippedRuntime, SHIPPED_PACKAGE, shippedRuntime, shippedRuntimeUnavailable, shippedSource } from './shipped-runtime-node';

/**
 * What `--adapter` accepts. 'default' resolves as above; 'gpu' insists on a real GPU; 'lavapipe'
 * on Mesa's CPU driver; 'swiftshader' on SwiftShader (the system's copy, else the npm-shipped
 * one); 'swiftshader-npm' on the npm-shipped copy.
 */
export const ADAPTER_CHOICES = ['default', 'gpu', 'lavapipe', 'swiftshader', 'swiftshader-npm'] as const;
export type AdapterChoice = (typeof ADAPTER_CHOICES)[number];

export function isAdapterChoice(value: string): value is AdapterChoice {
  return (ADAPTER_CHOICES as readonly string[]).includes(value);
}

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
const GPU_ICD_DIRS = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d', '/usr/local/nvidia/share/vulkan/icd.d'];

/** glibc's RTLD_NODELETE (not in os.constants.dlopen): the library stays loaded after dlclose. */
const RTLD_NODELETE = 0x1000;

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

/**
 * Whether the dynamic linker can load a library named `name` (a bare soname is looked up as Dawn
 * looks it up). process.dlopen only ever succeeds on a Node addon; any answer but "cannot open"
 * means the linker found and loaded the file.
 */
function linkerLoads(name: string, flags: number = constants.dlopen.RTLD_LAZY): boolean {
  try {
    process.dlopen({ exports: {} } as NodeJS.Module, name, flags);
    return true;
  } catch (e) {
    return !/cannot open shared object file|image not found|no such file/i.test((e as Error).message);
  }
}

/** Where the Vulkan loader comes from: 'system', the npm-shipped copy, or nowhere (with why). */
type LoaderState = { from: 'system' | 'none' } | { from: 'npm'; runtime: ShippedRuntime };
let loaderState: Promise<LoaderState> | null = null;

function vulkanLoader(): Promise<LoaderState> {
  loaderState ??= (async (): Promise<LoaderState> => {
    if (process.platform !== 'linux') return { from: 'system' }; // Dawn uses Metal / D3D12 there
    if (linkerLoads('libvulkan.so.1')) return { from: 'system' };
    let runtime: ShippedRuntime;
    try {
      runtime = await shippedRuntime();
    } catch {
      return { from: 'none' };
    }
    if (!linkerLoads(runtime.loader, constants.dlopen.RTLD_NOW | constants.dlopen.RTLD_GLOBAL | RTLD_NODELETE)
      || !linkerLoads('libvulkan.so.1')) {
      return { from: 'none' };
    }
    return { from: 'npm', runtime };
  })();
  return loaderState;
}

/** Is the real-GPU route worth trying: a user-named driver, or a GPU driver and a GPU device. */
function gpuDriverHint(): string | null {
  if (USER_DRIVER_ENV.icd || USER_DRIVER_ENV.drivers) return 'the driver named by VK_ICD_FILENAMES / VK_DRIVER_FILES';
  if (process.platform !== 'linux') return 'the system\'s GPU';
  const hasDevice = existsSync('/dev/dri') || existsSync('/dev/nvidia0');
  for (const dir of GPU_ICD_DIRS) {
    try {
      const icd = readdirSync(dir).find((f) => /nvidia|radeon|amd|intel|nouveau|freedreno|panfrost|asahi|virtio/i.test(f));
      if (icd && hasDevice) return `a GPU Vulkan driver (${dir}/${icd})`;
    } catch {
      /* no such folder */
    }
  }
  return null;
}

/** The faster CPU adapter here: lavapipe if Mesa installed it, else SwiftShader (system or npm). */
export function defaultCpuAdapter(): AdapterChoice {
  return LAVAPIPE_ICDS.some((p) => existsSync(p)) ? 'lavapipe' : 'swiftshader';
}

/**
 * Entry points already made, one per driver setting, kept for the life of the process. Dawn tears
 * an instance down when its entry point is garbage-collected; when that instance's device had been
 * lost with work in flight, the teardown crashes the process if another instance is busy (seen on
 * lavapipe: "futex facility returned an unexpected error code"). Reusing one instance per driver
 * avoids both the teardown and a new instance per context.
 */
const entries = new Map<string, GPU>();

/**
 * The user's own driver variables, as the process started. The resolution sets them while Dawn
 * creates an instance and requests its adapter (when the loader reads them), then puts these back,
 * so that later resolutions and child processes see what the user set, not what was tried.
 */
const USER_DRIVER_ENV = { icd: process.env.VK_ICD_FILENAMES, drivers: process.env.VK_DRIVER_FILES };

function setDriverEnv(icd: string | undefined, drivers: string | undefined): void {
  if (icd !== undefined) process.env.VK_ICD_FILENAMES = icd;
  else delete process.env.VK_ICD_FILENAMES;
  if (drivers !== undefined) process.env.VK_DRIVER_FILES = drivers;
  else delete process.env.VK_DRIVER_FILES;
}

/** Run `open` with the Vulkan loader seeing only `icd` (null: the user's or system's drivers). */
async function withDriver<T>(icd: string | null, open: (gpu: GPU) => Promise<T>): Promise<T> {
  const key = JSON.stringify(icd);
  if (icd) setDriverEnv(icd, undefined);
  else setDriverEnv(USER_DRIVER_ENV.icd, USER_DRIVER_ENV.drivers);
  try {
    let gpu = entries.get(key);
    if (!gpu) {
      gpu = loadDawn().create([]);
      entries.set(key, gpu);
    }
    return await open(gpu);
  } finally {
    setDriverEnv(USER_DRIVER_ENV.icd, USER_DRIVER_ENV.drivers);
  }
}

/** One way to get an adapter: a driver (null: the system's) and why it is tried. */
interface Route {
  /** The ICD manifest; null: the system's drivers; a function: unpacked when the route is tried. */
  icd: string | null | (() => Promise<string>);
  origin: string;
}

/** What to install where no adapter can be had at all. */
function installAdvice(): string {
  if (process.platform === 'linux') {
    const shipped = shippedRuntimeUnavailable();
    return shipped
      ? `${shipped}; install a Vulkan loader and driver (Debian/Ubuntu: apt install libvulkan1 mesa-vulkan-drivers)`
      : 'install a Vulkan loader and driver (Debian/Ubuntu: apt install libvulkan1 mesa-vulkan-drivers)';
  }
  return 'update the GPU driver (Dawn uses Metal on macOS and Direct3D 12 on Windows)';
}

async function routesFor(choice: AdapterChoice): Promise<{ routes: Route[]; skipped: string[] }> {
  const loader = await vulkanLoader();
  const skipped: string[] = [];
  const routes: Route[] = [];
  const loaderNote = loader.from === 'npm' ? `, Vulkan loader from ${loader.runtime.source}` : '';
  const systemLoader = loader.from === 'system' || loader.from === 'npm';
  if (!systemLoader) skipped.push(`no Vulkan loader: the system has no libvulkan.so.1 and ${shippedRuntimeUnavailable() ?? `${SHIPPED_PACKAGE} could not be unpacked`}`);

  if (choice === 'default' || choice === 'gpu') {
    const hint = gpuDriverHint();
    if (hint && systemLoader) routes.push({ icd: null, origin: `${hint}${loaderNote}` });
    else if (choice === 'gpu') skipped.push(hint ? 'a GPU driver is installed but no Vulkan loader is' : 'no GPU Vulkan driver and GPU device found');
  }
  if (choice === 'default' || choice === 'lavapipe') {
    const lavapipe = LAVAPIPE_ICDS.filter((p) => existsSync(p));
    if (lavapipe.length && systemLoader) {
      routes.push(...lavapipe.map((icd) => ({ icd, origin: `Mesa's lavapipe (${icd})${choice === 'default' ? ', no GPU driver found' : ''}${loaderNote}` })));
    } else if (choice === 'lavapipe') {
      skipped.push('lavapipe not found: install mesa-vulkan-drivers (Mesa 25; on Debian 12 from bookworm-backports)');
    }
  }
  if (choice === 'default' || choice === 'swiftshader') {
    for (const icd of SWIFTSHADER_ICDS.filter((p) => existsSync(p) && systemLoader)) {
      routes.push({ icd, origin: `the system's SwiftShader (${icd})${choice === 'default' ? ', no GPU driver or lavapipe found' : ''}${loaderNote}` });
    }
  }
  if (choice === 'default' || choice === 'swiftshader' || choice === 'swiftshader-npm') {
    if (loader.from === 'npm') {
      routes.push({ icd: loader.runtime.icd, origin: `the SwiftShader shipped in ${loader.runtime.source}${choice === 'default' ? ' (no GPU driver, lavapipe or system Vulkan loader found)' : ''}` });
    } else if (loader.from === 'system') {
      const unavailable = shippedRuntimeUnavailable();
      if (unavailable) {
        if (choice === 'swiftshader-npm' || !routes.length) skipped.push(`npm-shipped SwiftShader: ${unavailable}`);
      } else {
        const none = choice === 'default' ? ' (no GPU driver or lavapipe found)' : '';
        routes.push({ icd: async () => (await shippedRuntime()).icd, origin: `the SwiftShader shipped in ${shippedSource()}${none}, with the system's Vulkan loader` });
      }
    }
  }
  return { routes, skipped };
}

/**
 * Try each route of `choice` in order; `open` turns a route's GPU entry point into a result or
 * throws. The first result wins; otherwise one error that lists every route's failure and what to
 * install.
 */
async function firstRoute<T>(choice: AdapterChoice, open: (gpu: GPU, origin: string) => Promise<T>): Promise<T> {
  if (!isAdapterChoice(choice)) throw new WebGpuUnavailableError(`unknown adapter '${choice}' (one of: ${ADAPTER_CHOICES.join(', ')})`);
  const { routes, skipped } = await routesFor(choice);
  const tried: string[] = [];
  for (const route of routes) {
    let icd: string | null = null;
    try {
      icd = typeof route.icd === 'function' ? await route.icd() : route.icd;
      const origin = route.origin;
      return await withDriver(icd, (gpu) => open(gpu, origin));
    } catch (e) {
      tried.push(`${icd ?? (typeof route.icd === 'function' ? route.origin : 'system Vulkan drivers')}: ${(e as Error).message}`);
    }
  }
  const reasons = [...tried, ...skipped].join('; ');
  throw new WebGpuUnavailableError(`no WebGPU adapter found${choice === 'default' ? '' : ` for --adapter ${choice}`} (${reasons || 'no driver found'}): ${installAdvice()}`);
}

/** A GPU context in Node, resolved as described at the top of this file. */
export function createNodeContext(choice: AdapterChoice = 'default'): Promise<GpuContext> {
  return firstRoute(choice, async (gpu, origin) => {
    const context = await GpuContext.create({ gpu });
    context.origin = origin;
    return context;
  });
}

/**
 * Dawn's GPU entry point for `choice`, resolved the same way, for code that requests its own
 * adapter (the benchmark's peers). `origin` says which driver and why.
 */
export function resolveNodeGpu(choice: AdapterChoice = 'default'): Promise<{ gpu: GPU; origin: string }> {
  return firstRoute(choice, async (gpu, origin) => {
    if (!(await gpu.requestAdapter())) throw new Error('no adapter');
    return { gpu, origin };
  });
}

/** The adapter line the commands print on stderr: which adapter, and why it was chosen. */
export function adapterLine(context: GpuContext): string {
  const a = context.adapter;
  return `adapter: ${a.name} (${a.description || a.device || a.vendor || 'no description'}), from ${context.origin ?? 'the system'}`;
}
