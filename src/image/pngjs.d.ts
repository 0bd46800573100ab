// The part of pngjs (7.x, no bundled types) that decode-node.ts uses.
declare module 'pngjs' {
  interface PngSyncReadOptions {
    /** Keep 16-bit samples as 16-bit values (a Uint16Array) instead of rescaling them to 8 bits. */
    skipRescale?: boolean;
    checkCRC?: boolean;
  }
  interface PngSyncResult {
    width: number;
    height: number;
    depth: number;
    colorType: number;
    interlace: boolean;
    /** RGBA, 4 samples per pixel: 8-bit (Buffer), or 16-bit (Uint16Array) with skipRescale. */
    data: Uint8Array | Uint16Array;
  }
  export const PNG: {
    sync: { read(buffer: Uint8Array, options?: PngSyncReadOptions): PngSyncResult };
  };
}
