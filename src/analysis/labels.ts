// Image labels for the robustness experiment: ImageNet class indices from a label file (JSON
// {wnid: index}, Keras' imagenet_class_index.json, or CSV), from 'path<TAB>label' list files, from
// file names or ImageFolder subfolders that carry WordNet ids. Browser-safe, pure.

/** Classes of the ImageNet classifier. */
export const IMAGENET_CLASS_COUNT = 1000;

/** A WordNet id at the start of a file name ('n01440764_tench.JPEG' -> 'n01440764'), else null. */
export function wnidOf(fileName: string): string | null {
  const m = /^(n\d{8})(?![0-9])/.exec(fileName);
  return m ? m[1] : null;
}

function classIndex(value: unknown, where: string): number {
  const n = typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n >= IMAGENET_CLASS_COUNT) {
    throw new Error(`${where}: ${JSON.stringify(value)} is not a class index 0..${IMAGENET_CLASS_COUNT - 1}`);
  }
  return n;
}

function splitFields(line: string): string[] {
  return line.split(/[,\t]/).map((f) => f.trim().replace(/^"(.*)"$/, '$1'));
}

/**
 * A label map (key -> ImageNet class index; keys are WordNet ids or image file names) from the text
 * of a --labels file. Accepted forms:
 *   JSON  {"n01440764": 0, "my_photo.jpg": 7}                 key -> index
 *   JSON  {"0": ["n01440764", "tench"], ...}                  index -> [wnid, name] (Keras' imagenet_class_index.json)
 *   JSON  [{"index": 0, "wnid": "n01440764", "file": "..."}]  objects with index and wnid and/or file
 *   JSON  ["n01440764", "n01443537", ...]                     position = index
 *   CSV   lines 'key,index' (comma or tab), or a header row naming 'index' and 'wnid' and/or 'file'
 * Blank lines and lines starting with '#' are skipped in CSV. Throws a one-line error.
 */
export function parseLabelMap(text: string, source: string): Map<string, number> {
  const map = new Map<string, number>();
  const set = (key: unknown, index: number, where: string) => {
    if (typeof key !== 'string' || !key) throw new Error(`${where}: the key must be a non-empty string`);
    const previous = map.get(key);
    if (previous !== undefined && previous !== index) throw new Error(`${where}: '${key}' maps to both ${previous} and ${index}`);
    map.set(key, index);
  };
  const trimmed = text.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    let json: unknown;
    try {
      json = JSON.parse(trimmed);
    } catch (e) {
      throw new Error(`${source}: not valid JSON (${(e as Error).message})`);
    }
    if (Array.isArray(json)) {
      json.forEach((entry, i) => {
        const where = `${source} [${i}]`;
        if (typeof entry === 'string') {
          set(entry, i, where);
        } else if (entry && typeof entry === 'object') {
          const e = entry as Record<string, unknown>;
          const index = classIndex(e.index, `${where}.index`);
          if (e.wnid === undefined && e.file === undefined) throw new Error(`${where}: needs 'wnid' or 'file'`);
          if (e.wnid !== undefined) set(e.wnid, index, `${where}.wnid`);
          if (e.file !== undefined) set(e.file, index, `${where}.file`);
        } else {
          throw new Error(`${where}: expected a WordNet id or an object with index and wnid/file`);
        }
      });
    } else if (json && typeof json === 'object') {
      for (const [key, value] of Object.entries(json as Record<string, unknown>)) {
        const where = `${source} "${key}"`;
        if (Array.isArray(value)) {
          set(value[0], classIndex(key, where), where); // index -> [wnid, name]
        } else {
          set(key, classIndex(value, where), where);
        }
      }
    } else {
      throw new Error(`${source}: expected a JSON object or array`);
    }
  } else {
    const lines = text.split(/\r?\n/).map((l, i) => ({ l: l.trim(), n: i + 1 })).filter(({ l }) => l && !l.startsWith('#'));
    if (!lines.length) throw new Error(`${source}: no labels`);
    const header = splitFields(lines[0].l).map((h) => h.toLowerCase());
    if (header.includes('index')) {
      const col = (name: string) => header.indexOf(name);
      const [ci, cw, cf] = [col('index'), col('wnid'), col('file')];
      if (cw < 0 && cf < 0) throw new Error(`${source}: the header names 'index' but neither 'wnid' nor 'file'`);
      for (const { l, n } of lines.slice(1)) {
        const f = splitFields(l);
        const where = `${source}:${n}`;
        const index = classIndex(f[ci], where);
        if (cw >= 0 && f[cw]) set(f[cw], index, where);
        if (cf >= 0 && f[cf]) set(f[cf], index, where);
      }
    } else {
      for (const { l, n } of lines) {
        const f = splitFields(l);
        const where = `${source}:${n}`;
        if (f.length < 2) throw new Error(`${where}: expected 'key,index' (or a header row naming index and wnid/file)`);
        set(f[0], classIndex(f[1], where), where);
      }
    }
  }
  if (!map.size) throw new Error(`${source}: no labels`);
  return map;
}

/**
 * One image to label: its file's base name; from a list file, the text after the TAB; in an
 * ImageFolder layout, its class subfolder's name.
 */
export interface LabelSource {
  name: string;
  label?: string;
  folder?: string;
}

/** The class key of an image: its ImageFolder subfolder, else the WordNet id its name starts with. */
function classKey(image: LabelSource): string | null {
  return image.folder ?? wnidOf(image.name);
}

export interface ResolvedLabels {
  labels: number[];
  /** How the labels were obtained, for the output's meta and the log. */
  how: string;
}

/**
 * The ImageNet class index of every image, in order:
 *   1. a label from the list file ('path<TAB>label'): a class index, or a key of `map`;
 *   2. else `map` by the file's base name, then by its class key (the ImageFolder subfolder, else the
 *      WordNet id the name starts with);
 *   3. without `map`: when the class keys cover exactly 1000 distinct classes (a full ImageNet-style
 *      set), the class index is the key's rank among them (torchvision's ImageFolder order: sorted
 *      names; for ImageNet, the sorted WordNet ids).
 * Throws a one-line error naming the first image that has no label.
 */
export function resolveLabels(images: readonly LabelSource[], map: ReadonlyMap<string, number> | null): ResolvedLabels {
  let ranks: Map<string, number> | null = null;
  if (!map) {
    const ids = images.map(classKey);
    const distinct = [...new Set(ids.filter((w): w is string => w !== null))].sort();
    if (distinct.length === IMAGENET_CLASS_COUNT) ranks = new Map(distinct.map((w, i) => [w, i]));
  }
  let fromList = 0;
  const labels = images.map((image) => {
    if (image.label !== undefined && image.label !== '') {
      fromList++;
      if (/^\d+$/.test(image.label)) return classIndex(image.label, `label of ${image.name}`);
      const mapped = map?.get(image.label);
      if (mapped === undefined) {
        throw new Error(`label '${image.label}' of ${image.name} is not a class index${map ? ' nor a key of --labels' : ' (give --labels FILE to map it)'}`);
      }
      return mapped;
    }
    const wnid = classKey(image);
    const found = map?.get(image.name) ?? (wnid !== null ? map?.get(wnid) ?? ranks?.get(wnid) : undefined);
    if (found === undefined) {
      const why = map ? 'neither its file name nor its WordNet id is in --labels'
        : wnid === null ? 'its name does not start with a WordNet id (n01440764_...)'
        : `a ${image.folder !== undefined ? 'class folder' : 'WordNet id'} alone gives the class index only when the set covers all 1000 classes`;
      throw new Error(`no label for ${image.name} (${why}): pass --labels FILE (JSON or CSV mapping WordNet id or file name ` +
        `to class index) or list the images as 'path<TAB>label'`);
    }
    return found;
  });
  const parts: string[] = [];
  if (fromList) parts.push(`${fromList} from the image list`);
  if (fromList < images.length) parts.push(map ? `${images.length - fromList} from --labels`
    : `${images.length - fromList} from ${images.some((i) => i.folder !== undefined) ? 'class folders' : 'WordNet ids'} ranked over 1000 classes`);
  return { labels, how: parts.join(', ') };
}
