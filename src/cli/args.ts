// A small, strict argument parser: --name value and --flag; unknown options are errors. And the
// CLI's one error line (errorLine), so that every failure reads the same way.

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface OptionSpec {
  /** Options that take a value. */
  values?: string[];
  /** Options that are boolean flags. */
  flags?: string[];
  /** Options that may be repeated or take several values (collected into an array). */
  multi?: string[];
}

export interface ParsedArgs {
  values: Map<string, string>;
  multi: Map<string, string[]>;
  flags: Set<string>;
  positional: string[];
}

export function parseArgs(argv: string[], spec: OptionSpec): ParsedArgs {
  const values = new Map<string, string>();
  const multi = new Map<string, string[]>();
  const flags = new Set<string>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const [name, inline] = arg.slice(2).split(/=(.*)/s, 2);
    if (spec.flags?.includes(name)) {
      flags.add(name);
    } else if (spec.values?.includes(name) || spec.multi?.includes(name)) {
      const take = (): string => {
        if (inline !== undefined) return inline;
        const v = argv[++i];
        if (v === undefined || v.startsWith('--')) throw new UsageError(`--${name} needs a value`);
        return v;
      };
      if (spec.multi?.includes(name)) {
        const list = multi.get(name) ?? [];
        list.push(take());
        // Further bare words after a multi option belong to it (--image a.jpg b.jpg).
        while (inline === undefined && i + 1 < argv.length && !argv[i + 1].startsWith('--')) list.push(argv[++i]);
        multi.set(name, list);
      } else {
        values.set(name, take());
      }
    } else {
      throw new UsageError(`unknown option --${name}`);
    }
  }
  return { values, multi, flags, positional };
}

export function required(args: ParsedArgs, name: string): string {
  const v = args.values.get(name);
  if (v === undefined) throw new UsageError(`--${name} is required`);
  return v;
}

/** '0-63' or '1,5,9-12' -> sorted unique integers. */
export function parseRanges(text: string, what: string): number[] {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) throw new UsageError(`${what}: '${part}' is not a number or a range like 0-63`);
    const a = Number(m[1]);
    const b = m[2] !== undefined ? Number(m[2]) : a;
    if (b < a) throw new UsageError(`${what}: range '${part}' runs backwards`);
    for (let i = a; i <= b; i++) out.add(i);
  }
  return [...out].sort((x, y) => x - y);
}

/** Errors the code raises on purpose carry a readable message; these built-in classes mean a bug. */
const INTERNAL_ERRORS: Function[] = [TypeError, RangeError, ReferenceError, SyntaxError, EvalError, URIError];

/** Control characters (a newline in a file or tensor name) would split the line: made spaces. */
function flat(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ').replace(/\s+/g, ' ').trim();
}

/**
 * One line for any thrown value: `error: <message>`, never a stack (RESNET_STREAM_DEBUG=1 prints
 * it). Node's file errors are said plainly; an exception the code did not anticipate (a TypeError,
 * a RangeError, ...) is marked as an internal error with the hint to get its stack.
 */
export function errorLine(e: unknown): string {
  if (!(e instanceof Error)) return `error: ${flat(String(e))}`;
  const err = e as Error & { code?: unknown; syscall?: unknown; path?: unknown };
  if (typeof err.code === 'string' && typeof err.syscall === 'string') {
    const reasons: Record<string, string> = {
      ENOENT: 'no such file', EACCES: 'permission denied', EISDIR: 'is a directory', ENOTDIR: 'not a directory', ENOSPC: 'no space left on the device',
    };
    return `error: ${typeof err.path === 'string' ? `'${flat(err.path)}': ` : ''}${reasons[err.code] ?? flat(err.message)}`;
  }
  if (INTERNAL_ERRORS.includes(e.constructor)) {
    return `error: internal error (${e.name}: ${flat(e.message)}); set RESNET_STREAM_DEBUG=1 for the stack and please report it`;
  }
  return `error: ${flat(e.message || e.name)}`;
}
