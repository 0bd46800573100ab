// The residual-stream analysis, one import away: analysis.json's types (schema.ts), the per-block
// computation (block.ts) and the dataset-probe run with its journal (dataset.ts).

export * from './schema';
export { analyzeBlock, blockParamsFrom, sortBlocks } from './block';
export * from './dataset';
export type { JournalHeader, Transform } from './journal';
