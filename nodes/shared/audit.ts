/**
 * How the audit trail travels inside one Node-RED runtime, without wires:
 *
 * - esr-read notes what it found in a polled file (the facts of its summary) under the file's claim token, whatever
 *   way the flow later confirms or fails the file; esr-sftp-in takes them when the file is settled;
 * - esr-sftp-in publishes its audit records and missing-file alerts on the runtime's audit bus; esr-audit nodes
 *   listen (like Status and Catch nodes do for statuses and errors).
 */
import { EventEmitter } from 'node:events';
import type { AuditRecord, FileFacts, MissingFileAlert } from '../../core/poller';
import type { NodeAPI } from './node-red';

/** What goes on the bus: a file's audit record, or an alert; with the publishing node's id and flow tab. */
export type AuditMessage = { kind: 'file'; record: AuditRecord; node: string; z?: string } | { kind: 'missing'; alert: MissingFileAlert & { file?: string; source?: AuditRecord['source'] }; node: string; z?: string };

const buses = new WeakMap<object, EventEmitter>();

/** The audit bus of a runtime (one per RED.events, which every node module of a runtime shares). */
export function auditBus(RED: NodeAPI): EventEmitter {
  const key = ((RED as unknown as { events?: object }).events ?? RED) as object;
  let bus = buses.get(key);
  if (!bus) {
    bus = new EventEmitter();
    bus.setMaxListeners(0);
    buses.set(key, bus);
  }
  return bus;
}

const facts = new Map<string, FileFacts>();

/** esr-read: what it found in the file claimed with `token` (the latest 1000 files are kept until taken). */
export function noteFileFacts(token: string, f: FileFacts): void {
  const codes = facts.get(token)?.codes;
  facts.delete(token);
  facts.set(token, codes ? { ...f, codes: [...codes, ...(f.codes ?? [])] } : f);
  if (facts.size > 1000) facts.delete(facts.keys().next().value!);
}

/** Any node: a code for the audit record of the file claimed with `token` (an error code, an alert, a decision). */
export function noteFileCode(token: string, code: string): void {
  const f = facts.get(token);
  noteFileFacts(token, { ...f, codes: [code] }); // the codes noted before are kept by noteFileFacts
}

/** esr-sftp-in: the facts noted for a claim token, if any (forgotten once taken). */
export function takeFileFacts(token: string): FileFacts | undefined {
  const f = facts.get(token);
  facts.delete(token);
  return f;
}
