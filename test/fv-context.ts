// The GPU context of the feature-visualisation tests: the shared test context (the context keeps
// Dawn's GPU instance alive for as long as it lives; see src/gpu/context.ts).

export { testContext } from './helpers/gpu';
