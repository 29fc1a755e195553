/**
 * Local paths a message names (esr-read's "file path" input) are confined to one base folder: `esrLocalBase` in
 * Node-RED's settings.js, or else Node-RED's user directory. A path outside it — after resolving `..` and symbolic
 * links — is refused, so a message cannot make the node read any file the runtime can (e.g. /etc/shadow).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { NodeAPI } from './node-red';

/** The code of the error for a path outside the base folder. */
export const OUTSIDE_BASE = 'PATH_OUTSIDE_BASE';

/** The base folder: settings.esrLocalBase (relative to the user directory when relative), else the user directory. */
export function localBase(RED: NodeAPI): string {
  const userDir = String(RED.settings.userDir ?? process.cwd());
  const set = RED.settings.esrLocalBase;
  return typeof set === 'string' && set.trim() ? path.resolve(userDir, set.trim()) : path.resolve(userDir);
}

/** Whether `p` (absolute) names a place inside `base`, by name only (links are not resolved). */
export function inside(base: string, p: string): boolean {
  const rel = path.relative(base, p);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

/**
 * The real path of `p` (relative paths are taken from `base`), once it is known to be inside `base`.
 * Throws an Error with code PATH_OUTSIDE_BASE (message from `outside`, given the path as named) for a path outside,
 * checked before the file system is asked (so nothing is learnt of files outside) and again after links are
 * resolved; a missing file inside the base fails with the file system's ENOENT.
 */
export async function confinedPath(base: string, p: string, outside: (named: string) => string): Promise<string> {
  const refuse = () => Object.assign(new Error(outside(p)), { code: OUTSIDE_BASE });
  const realBase = await fs.promises.realpath(base).catch(() => path.resolve(base));
  const named = path.resolve(base, p);
  if (!inside(base, named) && !inside(realBase, named)) throw refuse();
  const real = await fs.promises.realpath(named);
  if (!inside(realBase, real)) throw refuse();
  return real;
}
