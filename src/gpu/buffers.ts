// Buffer pool: storage buffers are recycled by (size, usage) across runs, so repeated forwards of
// the same shape allocate nothing. Tracks the bytes it holds, for the memory report and soak tests.

import { pooledBytes } from '../util/tensor';

export class BufferPool {
  private readonly free = new Map<string, GPUBuffer[]>();
  private readonly sizes = new WeakMap<GPUBuffer, string>();
  /** Bytes of every buffer the pool has created and not destroyed (in use or free). */
  bytesAllocated = 0;
  /** Bytes currently handed out. */
  bytesInUse = 0;
  peakBytesInUse = 0;
  /** Buffers the pool has created and not destroyed (in use or free). */
  bufferCount = 0;

  constructor(private readonly device: GPUDevice) {}

  acquire(byteLength: number, usage: number, label: string): GPUBuffer {
    // Round up to 256 bytes so near-equal shapes share buffers and every binding is aligned.
    const size = pooledBytes(byteLength);
    const key = `${size}:${usage}`;
    const list = this.free.get(key);
    let buffer = list?.pop();
    if (!buffer) {
      buffer = this.device.createBuffer({ label, size, usage });
      this.bytesAllocated += size;
      this.bufferCount++;
    } else {
      buffer.label = label;
    }
    this.sizes.set(buffer, key);
    this.bytesInUse += size;
    this.peakBytesInUse = Math.max(this.peakBytesInUse, this.bytesInUse);
    return buffer;
  }

  release(buffer: GPUBuffer): void {
    const key = this.sizes.get(buffer);
    if (!key) throw new Error(`buffer '${buffer.label}' was not acquired from this pool`);
    this.sizes.delete(buffer);
    this.bytesInUse -= buffer.size;
    let list = this.free.get(key);
    if (!list) this.free.set(key, (list = []));
    list.push(buffer);
  }

  /** Destroy every free buffer (buffers in use stay valid). */
  trim(): void {
    for (const list of this.free.values()) {
      for (const b of list) {
        this.bytesAllocated -= b.size;
        this.bufferCount--;
        b.destroy();
      }
    }
    this.free.clear();
  }
}
