// GPU errors as clear, one-line exceptions. WebGPU reports out-of-memory and validation failures
// asynchronously through error scopes (or, uncaught, as a console message) and hands back an
// invalid object in the meantime; `captureGpuErrors` wraps a synchronous stretch of GPU calls
// (buffer creation for a plan, a weights upload) so that such a failure rejects with a named error
// instead of silently producing garbage later.

/** The device could not allocate memory (a real out-of-memory from the driver). */
export class GpuOutOfMemoryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GpuOutOfMemoryError';
  }
}

/** A request exceeds a device limit or the engine's memory budget; raised before any GPU work. */
export class GpuLimitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GpuLimitError';
  }
}

/** A WebGPU validation error raised by our own calls (a bug or an unchecked limit). */
export class GpuValidationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GpuValidationError';
  }
}

/** Dawn's messages carry a multi-line call trace; the first line says what went wrong. */
export function firstLine(message: string): string {
  return message.split('\n')[0].trim();
}

/**
 * The most bytes one storage-bound buffer may hold on a device, and the limit that sets it: the
 * smaller of maxStorageBufferBindingSize and maxBufferSize (the name error messages give).
 */
export function storageBufferLimit(limits: Pick<GPUSupportedLimits, 'maxStorageBufferBindingSize' | 'maxBufferSize'>): { bytes: number; name: string } {
  return limits.maxStorageBufferBindingSize <= limits.maxBufferSize
    ? { bytes: limits.maxStorageBufferBindingSize, name: 'maxStorageBufferBindingSize' }
    : { bytes: limits.maxBufferSize, name: 'maxBufferSize' };
}

export function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/**
 * Run `fn` (synchronous GPU calls) inside out-of-memory and validation error scopes. Returns its value
 * and `errors`, which rejects with GpuOutOfMemoryError / GpuValidationError naming `what` if any of
 * those calls failed. The scopes are pushed and popped around `fn` alone, so nothing else is caught.
 */
export function captureGpuErrors<T>(device: GPUDevice, what: string, fn: () => T): { value: T; errors: Promise<void> } {
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  const pop = () => {
    const validation = device.popErrorScope().catch(() => null);
    const oom = device.popErrorScope().catch(() => null);
    return [oom, validation] as const;
  };
  let value: T;
  try {
    value = fn();
  } catch (e) {
    pop(); // keep the scope stack balanced; the exception says more than any scope would
    throw e;
  }
  const [oom, validation] = pop();
  const errors = Promise.all([oom, validation]).then(([o, v]) => {
    if (o) throw new GpuOutOfMemoryError(`out of GPU memory while ${what}: ${firstLine(o.message)}; use a smaller batch or input, or free other GPU work`);
    if (v) throw new GpuValidationError(`WebGPU rejected a call while ${what}: ${firstLine(v.message)}`);
  });
  // A caller that fails for another reason may never await it: never leave it unhandled.
  errors.catch(() => undefined);
  return { value, errors };
}
