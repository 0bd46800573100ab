// The package version, put in by the build (esbuild's define, from package.json).
declare const RESNET_STREAM_VERSION: string;
