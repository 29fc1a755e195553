/** The layout a node uses: a built-in id, a trust layout file, or (reading only) detected per file. */
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
