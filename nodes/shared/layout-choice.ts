/** The layout a node uses: a built-in id, a trust layout file, or (reading only) detected per file. */
import { detectLayout, loadLayout, type CompiledLayout } from '../../core/codec';

export interface LayoutConfig {
  /** "auto", a built-in id, or "file" */
  layout: string;
  layoutFile?: string;
}

/** The fixed layout of a node, or undefined for "auto". Throws LayoutError at deploy for a bad layout file. */
export function fixedLayout(config: LayoutConfig): CompiledLayout | undefined {
  if (!config.layout || config.layout === 'auto') return undefined;
  if (config.layout === 'file') {
    if (!config.layoutFile) throw new Error('no layout file is set');
    return loadLayout(config.layoutFile);
  }
  return loadLayout(config.layout);
}

/** Detects the layout of one file from its name, else its first line. */
export function detectFor(fileName: string | undefined, firstBytes: Buffer | undefined): CompiledLayout {
  const firstLine = firstBytes ? firstBytes.subarray(0, 64 * 1024).toString('latin1').split(/[\r\n]/, 1)[0] : undefined;
  const layout = detectLayout(fileName, firstLine);
  if (!layout) throw new Error(`cannot tell the layout of ${fileName ?? 'the file'} from its name or first line; choose a layout in the node`);
  return layout;
}
