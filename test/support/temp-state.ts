/** A real local state store in a fresh temporary folder (one per call; share the instance to share the state). */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LocalStateStore } from '../../core/state';

export function tempState(): LocalStateStore {
  return new LocalStateStore({ folder: fs.mkdtempSync(path.join(os.tmpdir(), 'esr-state-')) });
}
