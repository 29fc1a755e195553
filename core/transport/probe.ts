/**
 * What an account may do in a folder, found by trying each thing: list, stat, read (the first bytes of the first
 * file listed, thrown away) and, only when asked (a hub may pick up any new file), write an empty
 * `.esr-probe-<random>` file, rename it and delete it. Nothing is read
 * into a report: only yes, no with its code, or untried.
 */
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import type { Allowed, FolderAccess, Transport } from './transport';

const codeOf = (err: unknown): { no: string } => ({ no: String((err as { code?: unknown }).code ?? 'ERROR') });

async function attempt(fn: () => Promise<unknown>): Promise<Allowed> {
  try {
    await fn();
    return 'yes';
  } catch (err) {
    return codeOf(err);
  }
}

/** Tries each operation in `folder` (relative to the root) over `transport`. Leaves no file behind where delete works. */
export async function probeFolder(transport: Pick<Transport, 'list' | 'stat' | 'get' | 'put' | 'rename' | 'delete'>, folder: string, tryWrites = false): Promise<FolderAccess> {
  const at = (name: string) => (folder === '.' || folder === '' ? name : path.posix.join(folder, name));
  let first: string | undefined;
  const list = await attempt(async () => {
    first = (await transport.list(folder)).find((e) => e.isFile)?.path;
  });
  const stat = await attempt(async () => {
    if (!(await transport.stat(folder))) throw Object.assign(new Error('missing'), { code: 'NO_SUCH_FILE' });
  });
  const read: Allowed = first
    ? await attempt(() =>
        transport.get(first!, async (stream) => {
          for await (const _chunk of stream) break; // the first bytes are enough, and are never kept
        }),
      )
    : 'untried';
  const probe = at(`.esr-probe-${randomBytes(4).toString('hex')}`);
  const write: Allowed = tryWrites ? await attempt(() => transport.put(probe, '', { mode: 'direct', ifExists: 'fail' })) : 'untried';
  let current = probe;
  const rename: Allowed = write === 'yes' ? await attempt(async () => {
    await transport.rename(probe, `${probe}.renamed`);
    current = `${probe}.renamed`;
  }) : 'untried';
  const del: Allowed = write === 'yes' ? await attempt(() => transport.delete(current)) : 'untried';
  return { folder: folder || '.', list, stat, read, write, rename, delete: del };
}
