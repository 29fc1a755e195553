/** The layout a node uses: a built-in id, a trust layout file, or (reading only) detected per file. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { detectLayout, loadLayout, type CompiledLayout } from '../../core/codec';
import type { Messages } from './messages';

export interface LayoutConfig {
  /** "auto", a built-in id, or "file" */
  layout: string;
  layoutFile?: string;
}

/** The fixed layout of a node, or undefined for "auto". Throws LayoutError at deploy for a bad layout file. */
export function fixedLayout(config: LayoutConfig, t: Messages): CompiledLayout | undefined {
  if (!config.layout || config.layout === 'auto') return undefined;
  if (config.layout === 'file') {
    if (!config.layoutFile) throw new Error(t('errors.noLayoutFile'));
    return loadLayout(config.layoutFile);
  }
  return loadLayout(config.layout);
}

/** Detects the layout of one file from its name, else its first line. */
export function detectFor(fileName: string | undefined, firstBytes: Buffer | undefined, t: Messages): CompiledLayout {
  const firstLine = firstBytes ? firstBytes.subarray(0, 64 * 1024).toString('latin1').split(/[\r\n]/, 1)[0] : undefined;
  const layout = detectLayout(fileName, firstLine);
  if (!layout) throw new Error(t('errors.undetected', { file: fileName ?? t('errors.theFile') }));
  return layout;
}

/** The pack's example trust layout files (top-level `layouts/`, UNOFFICIAL or invented: see the README). */
export const EXAMPLE_LAYOUTS_DIR = path.join(__dirname, '..', '..', '..', 'layouts');

/**
 * The example trust layout files, offered by the dialogs' layout-file field: absolute path and title, by file name.
 * A file that does not load is left out (the list is a convenience; the node reports a bad layout file at deploy).
 */
export function exampleLayouts(dir = EXAMPLE_LAYOUTS_DIR): { file: string; title: string }[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((n) => n.endsWith('.json'))
    .sort()
    .flatMap((n) => {
      try {
        return [{ file: path.join(dir, n), title: loadLayout(path.join(dir, n)).spec.title }];
      } catch {
        return [];
      }
    });
}
