// What the plain-JavaScript entries of the benchmark (bench/*.mjs) share in reading their command
// line; the TypeScript side has core/args.ts.

/** The arguments after the script's path. */
export const argv = process.argv.slice(2);

/** The word after --name, or `fallback` where --name is absent. */
export const get = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
};

/** With --help on the command line: print `usage` and exit. */
export function exitWithHelp(usage) {
  if (!argv.includes('--help')) return;
  console.log(usage);
  process.exit(0);
}
