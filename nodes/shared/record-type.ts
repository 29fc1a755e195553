/** A record's type for an error message, only as its layout knows it: a record's `recordType` may hold a value. */
import { builtInLayoutIds, loadLayout } from '../../core/codec';

/**
 * `recordType` when the message's built-in layout (`msg.esr.layout`, set by esr-read) has that record type;
 * else undefined, also for trust layout files, which cannot be loaded by id here.
 */
export function knownRecordType(msg: Record<string, unknown>, recordType: unknown): string | undefined {
  const id = (msg.esr as { layout?: unknown } | undefined)?.layout;
  if (typeof recordType !== 'string' || typeof id !== 'string' || !builtInLayoutIds().includes(id)) return undefined;
  const layout = loadLayout(id);
  return layout.byCode.has(recordType) || layout.byDeleteCode.has(recordType) ? recordType : undefined;
}
