// An analysis folder chosen in the page (<input type=file webkitdirectory>): its files by path relative
// to the folder that holds analysis.json, and a channel page of its site opened from them (the page's
// stylesheet and images given blob: URLs, since a page made in the browser cannot reach the disk).

/** The chosen files by path relative to the analysis folder (the one holding analysis.json, at any depth). */
export function folderFiles(files: File[]): Map<string, File> {
  const path = (f: File) => f.webkitRelativePath || f.name;
  const json = files.map(path).filter((p) => p === 'analysis.json' || p.endsWith('/analysis.json')).sort((a, b) => a.length - b.length)[0];
  const root = json ? json.slice(0, json.length - 'analysis.json'.length) : '';
  const out = new Map<string, File>();
  for (const f of files) if (path(f).startsWith(root)) out.set(path(f).slice(root.length), f);
  return out;
}

/** `ref` relative to the folder `dir` ('site/block-1.1/'), '..' resolved; null if it leaves the analysis folder. */
export function resolvePath(dir: string, ref: string): string | null {
  const parts = dir.split('/').filter(Boolean);
  for (const p of ref.split('/')) {
    if (p === '..') {
      if (!parts.length) return null;
      parts.pop();
    } else if (p !== '.' && p !== '') parts.push(decodeURIComponent(p));
  }
  return parts.join('/');
}

/** A blob: URL of the page at `path`, its relative src and href (other than pages) pointing at blob: URLs of the folder's files; null if absent. */
export async function rewritePage(files: Map<string, File>, path: string): Promise<string | null> {
  const file = files.get(path);
  if (!file) return null;
  const dir = path.slice(0, path.lastIndexOf('/') + 1);
  const urls = new Map<string, string>();
  const html = (await file.text()).replace(/(src|href)="([^"#:]+)"/g, (all, attr: string, ref: string) => {
    const target = resolvePath(dir, ref);
    const f = target === null || target.endsWith('.html') ? undefined : files.get(target);
    if (!f || target === null) return all;
    if (!urls.has(target)) urls.set(target, URL.createObjectURL(f));
    return `${attr}="${urls.get(target)}"`;
  });
  return URL.createObjectURL(new Blob([html], { type: 'text/html' }));
}
