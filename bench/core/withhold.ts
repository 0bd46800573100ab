// A navigator.gpu whose adapters do not offer some features: our engine on the same adapter as it
// would run where the feature is missing. Chromium's compatibility mode on lavapipe offers no
// 'subgroups' (its adapter: dual-source-blending, float32-blendable, texture-component-swizzle and
// two texture compressions), so `withholdFeatures(gpu, ['subgroups'])` in Node runs the kernels a
// page gets there, on the Vulkan driver, without the browser around them (bench/node/head-to-head.ts).
// The engine asks for a feature only when the adapter lists it (src/gpu/context.ts), so the device
// made from such an adapter lacks it too.

/** `gpu` with `withheld` removed from every adapter's features. */
export function withholdFeatures(gpu: GPU, withheld: readonly string[]): GPU {
  const hidden = new Set(withheld);
  const requestAdapter = async (options?: GPURequestAdapterOptions): Promise<GPUAdapter | null> => {
    const adapter = await gpu.requestAdapter(options);
    if (!adapter) return null;
    const offered = [...adapter.features].filter((name) => !hidden.has(name));
    // A Set is what GPUSupportedFeatures is read as (has, size, iteration).
    Object.defineProperty(adapter, 'features', { value: new Set(offered), configurable: true });
    return adapter;
  };
  return Object.assign(Object.create(gpu) as GPU, { requestAdapter });
}

/**
 * `gpu` as a page sees it in Chromium's compatibility mode over ANGLE: no 'subgroups', no
 * 'timestamp-query' or 'shader-f16', and adapter info with every field empty, so that the engine
 * (made with featureLevel 'compatibility') cannot tell what runs below (adapterHidden) and picks
 * what it picks there. The driver underneath is still the Node one's: no browser, no GL translation.
 */
export function asCompatibilityMode(gpu: GPU): GPU {
  const withheld = withholdFeatures(gpu, ['subgroups', 'timestamp-query', 'shader-f16']);
  const requestAdapter = async (options?: GPURequestAdapterOptions): Promise<GPUAdapter | null> => {
    const adapter = await withheld.requestAdapter(options);
    if (!adapter) return null;
    const info = { vendor: '', architecture: '', device: '', description: '' };
    Object.defineProperty(adapter, 'info', { value: info, configurable: true });
    return adapter;
  };
  return Object.assign(Object.create(gpu) as GPU, { requestAdapter });
}
