// The engine for a web page: WebGPU detection (core, else compatibility mode), an engine from the
// page's own GPUDevice or from a freshly requested one, and one-call runs from images.

import { type AdapterDescription, WebGpuUnavailableError } from '../gpu/context';
import { type TapName } from '../model/architecture';
import { type EngineOptions, type ForwardOptions, ResNetEngine } from '../model/engine';
import type { EvalOptions } from '../image/transforms';
import { type KernelTable, adapterKey, kernelTableFits } from '../model/tune';
import type { HostTensor } from '../weights/safetensors';
import { type ClassScore, topK } from './classes';
import { type ImageSource, imageToTensor } from './image';

export type FeatureLevelChoice = 'core' | 'compatibility' | 'auto';

export interface WebGpuSupport {
  /** navigator.gpu exists and some adapter was found. */
  available: boolean;
  /** The feature level an engine created with featureLevel 'auto' would get (null: none). */
  featureLevel: 'core' | 'compatibility' | null;
  /** Why WebGPU is unavailable (when it is). */
  reason?: string;
  adapter?: { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter: boolean };
  /** The limits that bound what the engine can run at once. */
  limits?: {
    maxStorageBufferBindingSize: number;
    maxBufferSize: number;
    maxComputeInvocationsPerWorkgroup: number;
    maxComputeWorkgroupStorageSize: number;
    maxStorageBuffersPerShaderStage: number;
  };
}

/** Where a page keeps measured kernel tables: `localStorage`, `sessionStorage`, or anything with their getItem and setItem. */
export type KernelTableStorage = Pick<Storage, 'getItem' | 'setItem'>;

export interface CreateEngineOptions extends Omit<EngineOptions, 'featureLevel'> {
  /**
   * 'auto' (default): a core adapter when there is one, else a compatibility-mode adapter (WebGPU on
   * OpenGL ES / D3D11: smaller limits, which the engine checks with clear errors); a hardware
   * compatibility adapter beats a software-fallback core one. Or force one level.
   */
  featureLevel?: FeatureLevelChoice;
  /**
   * With `measureKernels`, and no `kernelTable` given: keep the measured kernel table in this storage
   * (say `localStorage`), one item per adapter (kernelTableStorageKey), read when the engine is made
   * and rewritten whenever a measurement adds shapes, so that a page measures each convolution shape
   * once per browser profile rather than on every load (seconds on a CPU adapter). An item of another
   * adapter or kernel version, or one that does not parse, is measured again, never trusted; a
   * storage that refuses to read or write (quota, privacy settings) costs only that measurement.
   */
  kernelTableStorage?: KernelTableStorage;
}

/** The storage item that holds the kernel table of an adapter (adapterKey: vendor, architecture, device, description, feature level). */
export function kernelTableStorageKey(adapter: AdapterDescription): string {
  return storageKeyOf(adapterKey(adapter));
}

/** The storage item of the adapter whose adapterKey is `key` (a table's own `adapter` field). */
function storageKeyOf(key: string): string {
  return `resnet-stream kernel table: ${key}`;
}

/** The table kept in `storage` for this adapter, or undefined (none, unreadable, or not for it). */
function storedKernelTable(storage: KernelTableStorage, adapter: AdapterDescription): KernelTable | undefined {
  try {
    const text = storage.getItem(kernelTableStorageKey(adapter));
    const table = text === null ? undefined : (JSON.parse(text) as KernelTable);
    return table && kernelTableFits(table, adapter) ? table : undefined;
  } catch {
    return undefined;
  }
}

/** EngineOptions that read the table from `storage` and write every extended one back (the user's onKernelTable still called). */
function withStoredKernelTable(options: Omit<CreateEngineOptions, 'featureLevel'>): Omit<CreateEngineOptions, 'featureLevel'> {
  const { kernelTableStorage: storage, ...rest } = options;
  if (!storage || !rest.measureKernels || rest.kernelTable) return rest;
  return {
    ...rest,
    kernelTable: (adapter) => storedKernelTable(storage, adapter),
    onKernelTable: (table) => {
      try {
        // The engine's table names its adapter (adapterKey), so the item is the one read above.
        storage.setItem(storageKeyOf(table.adapter), JSON.stringify(table));
      } catch {
        // Quota or privacy settings: the next load measures again.
      }
      rest.onKernelTable?.(table);
    },
  };
}

function gpuOf(gpu?: GPU): GPU | undefined {
  return gpu ?? (globalThis.navigator as Navigator | undefined)?.gpu;
}

async function requestAdapter(gpu: GPU, level: 'core' | 'compatibility', options: CreateEngineOptions = {}): Promise<GPUAdapter | null> {
  try {
    return await gpu.requestAdapter({
      powerPreference: options.powerPreference,
      forceFallbackAdapter: options.forceFallbackAdapter,
      ...(level === 'compatibility' ? { featureLevel: 'compatibility' } : {}),
    } as GPURequestAdapterOptions);
  } catch {
    return null;
  }
}

function isFallback(adapter: GPUAdapter): boolean {
  const info = (adapter as GPUAdapter & { info?: GPUAdapterInfo & { isFallbackAdapter?: boolean } }).info;
  return info?.isFallbackAdapter ?? (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter ?? false;
}

/**
 * The adapter 'auto' picks: a core adapter, unless it is a software fallback and a compatibility-mode
 * adapter that is not one exists (e.g. Chromium with --use-webgpu-adapter=opengles: core is
 * SwiftShader, compatibility is ANGLE on the system's driver, about 4x faster on Mesa's lavapipe);
 * else a compatibility adapter where there is no core one.
 */
async function pickAdapter(gpu: GPU, options: CreateEngineOptions): Promise<{ level: 'core' | 'compatibility'; adapter: GPUAdapter } | null> {
  const core = await requestAdapter(gpu, 'core', options);
  if (core && !isFallback(core)) return { level: 'core', adapter: core };
  const compat = await requestAdapter(gpu, 'compatibility', options);
  if (compat && (!core || !isFallback(compat))) return { level: 'compatibility', adapter: compat };
  return core ? { level: 'core', adapter: core } : null;
}

/**
 * Which feature level createEngine's 'auto' uses here: 'core', or 'compatibility' where there is no
 * core adapter (or only a software fallback one beside a compatibility adapter); null without WebGPU.
 */
export async function detectFeatureLevel(options: Pick<CreateEngineOptions, 'gpu' | 'powerPreference' | 'forceFallbackAdapter'> = {}):
  Promise<'core' | 'compatibility' | null> {
  const gpu = gpuOf(options.gpu);
  if (!gpu) return null;
  return (await pickAdapter(gpu, options))?.level ?? null;
}

/** What WebGPU the page has, without creating a device. */
export async function describeWebGpu(options: Pick<CreateEngineOptions, 'gpu' | 'powerPreference' | 'forceFallbackAdapter'> = {}): Promise<WebGpuSupport> {
  const gpu = gpuOf(options.gpu);
  if (!gpu) return { available: false, featureLevel: null, reason: 'navigator.gpu is missing (this browser has no WebGPU, or it is switched off)' };
  const picked = await pickAdapter(gpu, options);
  if (!picked) return { available: false, featureLevel: null, reason: 'WebGPU is present but no adapter was found (core or compatibility)' };
  const { level: featureLevel, adapter } = picked;
  const info = (adapter as GPUAdapter & { info?: GPUAdapterInfo }).info;
  const l = adapter.limits;
  return {
    available: true,
    featureLevel,
    adapter: {
      vendor: info?.vendor ?? '', architecture: info?.architecture ?? '', device: info?.device ?? '', description: info?.description ?? '',
      isFallbackAdapter: isFallback(adapter),
    },
    limits: {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
    },
  };
}

/**
 * A ResNetEngine for this page. With `device` (or `context`) it uses what the page already has;
 * otherwise it requests an adapter: core first, then compatibility mode where no core adapter exists
 * or the core one is a software fallback (featureLevel 'auto', the default; see detectFeatureLevel).
 * With `measureKernels` and `kernelTableStorage`, the measured kernel table is kept in that storage.
 * Throws WebGpuUnavailableError with the reason.
 */
export async function createEngine(options: CreateEngineOptions = {}): Promise<ResNetEngine> {
  const { featureLevel = 'auto', ...given } = options;
  const rest = withStoredKernelTable(given);
  if (rest.device || rest.context || featureLevel !== 'auto') {
    return ResNetEngine.create({ ...rest, featureLevel: featureLevel === 'auto' ? undefined : featureLevel });
  }
  const level = await detectFeatureLevel(rest);
  if (!level) {
    if (!gpuOf(rest.gpu)) return ResNetEngine.create(rest); // throws the engine's own "no navigator.gpu" error
    throw new WebGpuUnavailableError('WebGPU is present but no adapter was found, in core or in compatibility mode');
  }
  return ResNetEngine.create({ ...rest, featureLevel: level });
}

function isHostTensor(x: unknown): x is HostTensor {
  const t = x as HostTensor;
  return typeof t === 'object' && t !== null && Array.isArray(t.shape) && t.data instanceof Float32Array;
}

/**
 * Forward one image (any ImageSource, preprocessed by torchvision's eval transform) or a ready
 * NCHW tensor, reading back the taps asked for (default ['fc']).
 */
export async function forwardImage(engine: ResNetEngine, source: ImageSource | HostTensor,
  options: ForwardOptions & { transform?: EvalOptions } = {}): Promise<Map<TapName, HostTensor>> {
  const input = isHostTensor(source) ? source : await imageToTensor(source, options.transform);
  return engine.forward(input, options);
}

/**
 * The top-k ImageNet classes of an image or tensor (first image of the batch). Throws the engine's
 * MissingWeightsError when the checkpoint cannot reach the classifier.
 */
export async function classify(engine: ResNetEngine, source: ImageSource | HostTensor, k = 5): Promise<ClassScore[]> {
  const fc = (await forwardImage(engine, source, { taps: ['fc'] })).get('fc')!;
  return topK(fc.data, k);
}
