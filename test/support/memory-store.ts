/** A StateStore in memory, shared between pollers to stand in for a shared context store (e.g. Redis). */
import type { StateStore } from '../../core/sftp';

export class MemoryStore implements StateStore {
  readonly data = new Map<string, unknown>();
  async get(key: string): Promise<unknown> {
    return structuredClone(this.data.get(key));
  }
  async set(key: string, value: unknown): Promise<void> {
    if (value === undefined) this.data.delete(key);
    else this.data.set(key, structuredClone(value));
  }
}
