// API.md is the list semver covers: each entry's exports, and each command's options. This test
// fails when the code and that list part ways (a new export, a removed one, an option --help shows
// that API.md does not list), so that an API change cannot land without a versioned note.

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as browserEntry from '../src/index';
import * as nodeEntry from '../src/index-node';

const ROOT = resolve(__dirname, '..');
const API = readFileSync(resolve(ROOT, 'API.md'), 'utf8');
const CLI = resolve(ROOT, 'dist/cli.js');

/** The backticked names of the paragraph after `<!-- marker -->`. */
function listed(marker: string): string[] {
  const start = API.indexOf(`<!-- ${marker} -->`);
  if (start < 0) throw new Error(`API.md has no '<!-- ${marker} -->'`);
  const paragraph = API.slice(start).split('\n\n')[0];
  return [...paragraph.matchAll(/`([^`]+)`/g)].map((m) => m[1]).sort();
}

describe('API.md', () => {
  it('lists exactly the exports of resnet-stream', () => {
    expect(listed('exports: resnet-stream')).toEqual(Object.keys(browserEntry).sort());
  });

  it('lists exactly what resnet-stream/node adds to it', () => {
    const added = Object.keys(nodeEntry).filter((k) => !(k in browserEntry) || k === 'createEngine').sort();
    expect(listed('exports: resnet-stream/node')).toEqual(added);
    // The Node entry keeps every name of the browser entry.
    expect(Object.keys(browserEntry).filter((k) => !(k in nodeEntry))).toEqual([]);
  });

  it('lists every option each command\'s help shows', () => {
    expect(existsSync(CLI), 'dist/cli.js (npm test builds it)').toBe(true);
    const table = API.slice(API.indexOf('<!-- cli -->')).split('\n\n')[0];
    const row = (command: string) => table.split('\n').find((l) => l.startsWith(`| \`${command}\``)) ?? '';
    const help = execFileSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' });
    for (const line of help.split('\n').filter((l) => /^ {2}resnet-stream [a-z]/.test(l))) {
      const command = line.trim().split(/\s+/)[1];
      for (const option of (line.match(/--[a-z0-9-]+/g) ?? []).filter((o) => o !== '--help')) expect(row(command), `${command} ${option}`).toContain(`\`${option}\``);
    }
    for (const command of ['analyze', 'robustness']) {
      const own = execFileSync(process.execPath, [CLI, command, '--help'], { encoding: 'utf8' });
      for (const option of new Set(own.match(/--[a-z0-9-]+/g) ?? [])) {
        if (option === '--help') continue;
        expect(row(command), `${command} ${option}`).toContain(`\`${option}\``);
      }
    }
    expect(execFileSync(process.execPath, [CLI, '--version'], { encoding: 'utf8' }).trim())
      .toBe((JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
  });
});
