// resnet-stream/node: the engine from a Node script, resolved and loaded exactly as the command
// line does it. Everything of the browser entry ('resnet-stream') is here too, so a script needs
// one import. Node only (file system, Dawn); the browser entry never reaches this file.
//
//   import { createEngine, loadWeightsFile, imageFileToTensor } from 'resnet-stream/node';
//   const engine = await createEngine();                  // GPU, else lavapipe, else SwiftShader
//   engine.loadWeights(await loadWeightsFile());           // --weights rules: $RESNET_STREAM_WEIGHTS, the cache
//   const taps = await engine.forward(imageFileToTensor('cat.jpg'), { taps: ['layer3.1'] });
//   engine.dispose();
//   const { analysis } = await runAnalysis({ out: 'out/analysis', images: 'photos/', onProgress, signal });

import { adapterLine, ADAPTER_CHOICES, type AdapterChoice, createNodeContext } from './gpu/node';
import { type EngineOptions, ResNetEngine } from './model/engine';
import type { Checkpoint } from './weights/load';
import { readKernelTable, writeKernelTable } from './cli/kernel-cache-node';
import { readCheckpointFile, resolveWeightsPath } from './weights/resolve-node';
import { type PreprocessOptions, preprocessFiles } from './image/preprocess-node';
import type { HostTensor, TensorMap } from './weights/safetensors';

export * from './index';
export { ADAPTER_CHOICES, adapterLine, type AdapterChoice };
// The residual-stream analysis of an image folder (what `resnet-stream analyze` runs), with
// progress callbacks and an AbortSignal; returns the analysis.json object.
export { type RunAnalysisOptions, type RunAnalysisResult, runAnalysis } from './cli/run-analysis';
export type { AnalysisPhase, AnalysisProgress } from './analysis/analyze';

export interface NodeEngineOptions extends Omit<EngineOptions, 'context' | 'device' | 'gpu'> {
  /** As the CLI's --adapter: 'default' (a GPU, else lavapipe, else SwiftShader), or insist on one. */
  adapter?: AdapterChoice;
}

/**
 * An engine on Dawn, its adapter resolved exactly as the CLI resolves --adapter. Which adapter and
 * why: `adapterLine(engine.ctx)`. `engine.dispose()` releases the device. With `measureKernels` and
 * no `kernelTable`, the table measured before on this adapter is read from the cache folder
 * (kernelTablePath) and every measurement that extends it is written back.
 */
export async function createEngine(options: NodeEngineOptions = {}): Promise<ResNetEngine> {
  const { adapter, ...engineOptions } = options;
  const context = await createNodeContext(adapter ?? 'default');
  if (engineOptions.measureKernels && !engineOptions.kernelTable) {
    const description = context.adapter;
    engineOptions.kernelTable = readKernelTable(description);
    const user = engineOptions.onKernelTable;
    engineOptions.onKernelTable = (table) => {
      void writeKernelTable(description, table).catch(() => { /* a read-only cache only costs a re-measurement */ });
      user?.(table);
    };
  }
  return ResNetEngine.create({ ...engineOptions, context, ownContext: true });
}

export { kernelTablePath, readKernelTable, writeKernelTable } from './cli/kernel-cache-node';

/**
 * A checkpoint, found as --weights finds it: `path`, else $RESNET_STREAM_WEIGHTS, else the cached
 * official download (never downloads; `node weights/download.mjs` does). Same validation and the
 * same one-line errors. `missing` names what a partial checkpoint lacks; `architecture` which of
 * torchvision's ResNets it is (recognised, or `options.architecture` insisted on, as --arch). Load it
 * with `engine.loadWeights(checkpoint.tensors, { architecture: checkpoint.architecture })`. Holds the
 * file and its float32 tensors at most, never a second copy of the file.
 */
export async function loadCheckpointFile(path?: string, options: { architecture?: string } = {}): Promise<Checkpoint & { path: string }> {
  const resolved = await resolveWeightsPath({ flag: path, allowDownload: false });
  const checkpoint = readCheckpointFile(resolved, { architecture: options.architecture });
  return { ...checkpoint, path: resolved };
}

/** The tensors of loadCheckpointFile(path): what `engine.loadWeights` takes. */
export async function loadWeightsFile(path?: string): Promise<TensorMap> {
  return (await loadCheckpointFile(path)).tensors;
}

/**
 * JPEG or PNG files as the network's input, float32 NCHW [N, 3, 224, 224]: torchvision's eval
 * transform (Resize 256, CenterCrop 224, Normalize), Pillow-exact, as the CLI's --image. Several
 * paths make a batch; an unreadable file throws, naming it.
 */
export function imageFileToTensor(paths: string | string[], options: PreprocessOptions = {}): HostTensor {
  const list = Array.isArray(paths) ? paths : [paths];
  const batch = preprocessFiles(list, options);
  if (batch.failed.length) throw new Error(batch.failed.map((f) => `${f.file}: ${f.error}`).join('; '));
  return batch.tensor;
}
