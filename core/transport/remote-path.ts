/** Remote paths are always resolved against the configured root; names that could escape it are refused. */
import * as path from 'node:path';

export class RemotePathError extends Error {
  readonly code = 'EBADPATH';
  constructor(message: string) {
    super(message);
    this.name = 'RemotePathError';
  }
}

/**
 * Refuses control characters (NUL, CR, LF, TAB …: a name with a line break could forge a line in a log), backslashes,
 * absolute paths and `..` segments; returns the clean relative path.
 */
export function checkRelative(p: string, what = 'path'): string {
  if (typeof p !== 'string' || p === '') throw new RemotePathError(`${what} is empty`);
  if (/[\x00-\x1f\x7f]/.test(p)) throw new RemotePathError(`${what} contains a control character`);
  if (p.includes('\\')) throw new RemotePathError(`${what} contains a backslash`);
  if (p.startsWith('/')) throw new RemotePathError(`${what} is absolute; paths are relative to the configured root`);
  const segments = p.split('/');
  if (segments.includes('..')) throw new RemotePathError(`${what} contains ".."`);
  return segments.filter((s) => s !== '' && s !== '.').join('/') || '.';
}

/** root + relative path, POSIX style. */
export function resolveRemote(root: string, p: string, what = 'path'): string {
  const rel = checkRelative(p, what);
  return path.posix.join(root || '.', rel);
}

/** A plain file name (no folder part). */
export function checkName(name: string, what = 'file name'): string {
  const rel = checkRelative(name, what);
  if (rel.includes('/') || rel === '.') throw new RemotePathError(`${what} must be a plain name without folders`);
  return rel;
}
