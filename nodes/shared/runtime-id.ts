/** Which Node-RED runtime this is, for claims and leases: stable across restarts, different between runtimes. */
import * as os from 'node:os';
import { createHash } from 'node:crypto';
import type { NodeAPI } from './node-red';

/** The host name and a hash of the user directory, or ESR_RUNTIME_ID when it is set; safe in a file name. */
export function runtimeId(RED: NodeAPI): string {
  const given = process.env.ESR_RUNTIME_ID;
  const base = given || `${os.hostname()}-${createHash('sha256').update(String(RED.settings.userDir ?? process.cwd())).digest('hex').slice(0, 8)}`;
  return base.replace(/[^A-Za-z0-9._-]/g, '_');
}
