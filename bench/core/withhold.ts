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
