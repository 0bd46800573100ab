// Types for download.mjs, so the TypeScript CLI (src/weights/resolve-node.ts) can import it.

export declare const WEIGHTS_URL: string;
export declare const WEIGHTS_FILE: string;
export declare const WEIGHTS_SHA256_PREFIX: string;
export declare const DEFAULT_TIMEOUT_MS: number;

export declare function defaultCacheDir(env?: Record<string, string | undefined>): string;
export declare function offlineAdvice(fileName?: string): string;
export declare function sha256File(path: string): Promise<string>;
export declare function verifyCachedFile(path: string, sha256Prefix?: string): Promise<string>;

export interface DownloadOptions {
  url?: string;
  cacheDir?: string;
  fileName?: string;
  sha256Prefix?: string;
  timeoutMs?: number;
  progress?: boolean;
}
export declare function downloadWeights(options?: DownloadOptions): Promise<string>;
