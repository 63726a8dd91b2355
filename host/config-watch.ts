// `--watch`: a reload when the config file (or a --plugin file) changes. Directories are watched, not
// files: editors save by rename and Kubernetes swaps a ConfigMap's `..data` symlink, and either
// replaces the file a file watch would be holding.
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';

/** Editors write in several steps (truncate, write, rename): one reload once they have settled. */
export const WATCH_SETTLE_MS = 200;

/** Calls `onChange` (debounced) when one of `files` changes; returns a function that stops watching. */
export function watchFiles(files: string[], onChange: () => void): () => void {
  const byDir = new Map<string, Set<string>>();
  for (const f of files) {
    const abs = resolve(f);
    const names = byDir.get(dirname(abs)) ?? new Set<string>();
    names.add(basename(abs));
    // A ConfigMap mount updates by swapping this symlink; the file names themselves never change.
    names.add('..data');
    byDir.set(dirname(abs), names);
  }
  let timer: NodeJS.Timeout | undefined;
  const fire = (): void => {
    timer = undefined;
    onChange();
  };
  const watchers: FSWatcher[] = [];
  for (const [dir, names] of byDir) {
    const w = watch(dir, { persistent: false }, (_event, name) => {
      if (name !== null && !names.has(name.toString())) return;
      if (timer) clearTimeout(timer);
      timer = setTimeout(fire, WATCH_SETTLE_MS);
    });
    watchers.push(w);
  }
  return () => {
    if (timer) clearTimeout(timer);
    for (const w of watchers) w.close();
  };
}
