// One writer per output folder: `analyze` (whole, shard or fv) and `merge` take DIR/.resnet-stream.lock
// before they touch DIR, and a second process given the same --out is refused, naming the holder.
// Node only.
//
// The lock file holds the holder's host name, the kernel's boot id, its pid and the pid's start time
// (from /proc on Linux), the command and when it started. It is created atomically with its content
// (written to a temp file, then hard-linked to the lock's name: a link fails if the name exists, on
// local disks and NFS alike), and removed when the holder ends, also on an error or Ctrl-C.
//
// A holder killed outright (SIGKILL, a crash, a lost node) cannot remove it; the lock is then stale:
//   - on the same host (same host name and boot id), at once, when the pid is dead or now belongs to
//     a process that started at another time (a pid reused, as in a restarted container, where the
//     new process may well be pid 1 again);
//   - from another host, whose processes cannot be seen from here, when the holder's heartbeat has
//     stopped: the holder touches the file every 20 s (from a worker thread, so a busy main thread does
//     not stop it), and a lock untouched for RESNET_STREAM_LOCK_STALE_SECONDS (default 120) is stale.
//     This compares the file's modification time with this host's clock: hosts whose clocks differ by
//     more than that, or a shared file system that does not keep modification times, can misjudge it.
// A stale lock is taken over with a notice naming its holder. The same host name on another boot
// counts as another host (a node rebooted, or a scheduler that reuses host names across nodes).

import { linkSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

export const LOCK_FILE = '.resnet-stream.lock';
const HEARTBEAT_MS = 20_000;

interface LockInfo {
  host: string;
  bootId: string | null;
  pid: number;
  /** The pid's start time in clock ticks after boot (/proc/<pid>/stat, field 22); null off Linux. */
  processStart: string | null;
  startedAt: string;
  command: string;
}

/** Another live process holds the output folder. */
export class LockedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LockedError';
  }
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

const bootId = (): string | null => readText('/proc/sys/kernel/random/boot_id')?.trim() || null;

/** Field 22 of /proc/<pid>/stat (after the command name, which may hold spaces and parentheses). */
function processStart(pid: number): string | null {
  const stat = readText(`/proc/${pid}/stat`);
  if (stat === null) return null;
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function staleSeconds(): number {
  const s = Number(process.env.RESNET_STREAM_LOCK_STALE_SECONDS ?? 120);
  return Number.isFinite(s) && s > 0 ? s : 120;
}

/** Why the lock is stale, or null while its holder may be alive. */
function staleness(info: LockInfo, path: string): string | null {
  const sameHost = info.host === hostname() && info.bootId === bootId();
  if (sameHost) {
    if (!pidAlive(info.pid)) return `pid ${info.pid} is not running`;
    if (info.processStart !== null && processStart(info.pid) !== info.processStart) return `pid ${info.pid} is now another process`;
    return null;
  }
  let age: number;
  try {
    age = (Date.now() - statSync(path).mtimeMs) / 1000;
  } catch {
    return 'it is gone';
  }
  return age > staleSeconds() ? `its heartbeat stopped ${Math.round(age)} s ago (more than ${staleSeconds()} s)` : null;
}

const describe = (i: LockInfo) => `pid ${i.pid} on ${i.host}, since ${i.startedAt} (${i.command})`;

/**
 * Take `dir`'s lock for `command`, or throw LockedError naming the live holder. Returns the release
 * (idempotent; also run at process exit). `notice` hears of a stale lock taken over.
 */
export function lockOutput(dir: string, command: string, notice: (line: string) => void = () => {}): () => void {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, LOCK_FILE);
  const me: LockInfo = {
    host: hostname(), bootId: bootId(), pid: process.pid, processStart: processStart(process.pid), startedAt: new Date().toISOString(), command,
  };
  const text = `${JSON.stringify(me, null, 2)}\n`;
  const tmp = `${path}.${me.host}.${me.pid}.tmp`;
  for (let attempt = 0; ; attempt++) {
    writeFileSync(tmp, text);
    try {
      linkSync(tmp, path);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 2) throw e;
    } finally {
      unlinkSync(tmp);
    }
    const held = readText(path);
    let info: LockInfo;
    try {
      info = JSON.parse(held ?? '') as LockInfo;
    } catch {
      throw new LockedError(`${path} exists but is not a lock this program wrote; delete it if no other run writes to ${dir}`);
    }
    const stale = staleness(info, path);
    if (!stale) {
      throw new LockedError(`${dir} is in use by another run: ${describe(info)}; wait for it, or give another --out ` +
        `(a lock held from another host is taken over once its heartbeat has stopped for ${staleSeconds()} s)`);
    }
    // Remove the stale lock only if it is still the one judged stale (not one taken meanwhile).
    if (readText(path) === held) unlinkSync(path);
    notice(`taking over a stale lock on ${dir}: ${describe(info)}; ${stale}`);
  }
  const heartbeat = new Worker(
    `const { workerData: w } = require('node:worker_threads'); const fs = require('node:fs');
     setInterval(() => { try { const t = new Date(); fs.utimesSync(w.path, t, t); } catch {} }, w.ms);`,
    { eval: true, workerData: { path, ms: HEARTBEAT_MS } },
  );
  heartbeat.unref();
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    void heartbeat.terminate();
    process.off('exit', release);
    if (readText(path) === text) {
      try {
        unlinkSync(path);
      } catch {
        // already gone
      }
    }
  };
  process.on('exit', release);
  return release;
}

/** Runs `fn` holding `dir`'s lock. */
export async function withOutputLock<T>(dir: string, command: string, notice: (line: string) => void, fn: () => Promise<T>): Promise<T> {
  const release = lockOutput(dir, command, notice);
  try {
    return await fn();
  } finally {
    release();
  }
}


/** Who holds `dir`'s lock, if a live process may (e.g. a shard still running), else null. */
export function lockHolder(dir: string): string | null {
  const path = join(dir, LOCK_FILE);
  const held = readText(path);
  if (held === null) return null;
  try {
    const info = JSON.parse(held) as LockInfo;
    return staleness(info, path) ? null : describe(info);
  } catch {
    return null;
  }
}
