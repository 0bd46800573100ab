// Image sets for the CLI commands (Node): a folder of JPEG/PNG files, sorted by name, or a text file
// listing one image path per line (relative paths are relative to the list file; blank lines and
// lines starting with '#' are skipped). With `labels`, a line may carry a label after a TAB:
// 'path<TAB>label'; and a folder without images whose subfolders hold them is read as torchvision's
// ImageFolder layout (DIR/CLASS/*.JPEG, as ImageNet's validation set is usually arranged).

import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';

export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png']);

export interface ImageEntry {
  /** Absolute path. */
  path: string;
  /** The text after the TAB on a list line (only when labels were asked for and present). */
  label?: string;
  /** ImageFolder layout: the name of the class subfolder. */
  folder?: string;
}

/** The images of --images DIR|LIST, in order; with `labels`, list lines may be 'path<TAB>label'. */
export function listImageEntries(spec: string, options: { labels?: boolean } = {}): ImageEntry[] {
  const path = resolve(spec);
  if (!existsSync(path)) throw new Error(`--images ${spec}: no such file or folder`);
  if (statSync(path).isDirectory()) {
    const files = readdirSync(path).filter((f) => IMAGE_EXTENSIONS.has(extname(f).toLowerCase())).sort();
    if (!files.length) throw new Error(`--images ${spec}: the folder holds no .jpg, .jpeg or .png files`);
    return files.map((f) => ({ path: join(path, f) }));
  }
  const base = resolve(path, '..');
  const lines = readFileSync(path, 'utf8').split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  if (!lines.length) throw new Error(`--images ${spec}: the list is empty`);
  return lines.map((l) => {
    if (!options.labels) return { path: resolve(base, l) };
    const tab = l.indexOf('\t');
    if (tab < 0) return { path: resolve(base, l) };
    const label = l.slice(tab + 1).trim();
    return { path: resolve(base, l.slice(0, tab).trim()), ...(label ? { label } : {}) };
  });
}

/**
 * With `labels`, a folder that holds no images itself but subfolders that do is read as ImageFolder:
 * subfolders sorted by name, then their images sorted by name, each entry carrying its subfolder.
 */
export function listLabelledImages(spec: string): ImageEntry[] {
  const path = resolve(spec);
  if (existsSync(path) && statSync(path).isDirectory()) {
    const names = readdirSync(path).sort();
    if (!names.some((f) => IMAGE_EXTENSIONS.has(extname(f).toLowerCase()))) {
      const entries = names.filter((d) => statSync(join(path, d)).isDirectory()).flatMap((d) =>
        readdirSync(join(path, d)).filter((f) => IMAGE_EXTENSIONS.has(extname(f).toLowerCase())).sort()
          .map((f) => ({ path: join(path, d, f), folder: d })));
      if (entries.length) return entries;
    }
  }
  return listImageEntries(spec, { labels: true });
}

/** The image paths of --images DIR|LIST, in order. */
export function listImages(spec: string): string[] {
  return listImageEntries(spec).map((e) => e.path);
}
