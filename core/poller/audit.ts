/**
 * The audit record of one step in a polled file's life: what the poller did (PollerEvent) and, when the flow read
 * the file, what esr-read found in it (FileFacts). Facts only — names, sizes, hashes, counts, codes, the header's
 * timestamps — never a field value of a record: a record is safe to write to a log file, syslog or a ticket.
 */
import type { PollerEvent } from './poller';

export const AUDIT_OUTCOMES = ['taken', 'done', 'failed', 'retried', 'moved-to-error'] as const;

/** What a read of the file found (esr-read's summary, reduced to facts that hold no value). */
export interface FileFacts {
  /** SHA-256 of the file's bytes as taken (hex). */
  sha256?: string;
  layout?: string;
  /** The file was whole and what it says it is (see esr-read's summary.sound). */
  sound?: boolean;
  lines?: number;
  /** Lines per record type, header and trailer included. */
  records?: Record<string, number>;
  errorCount?: number;
  warningCount?: number;
  /** Problem codes and how often each came (never a message: a message names a field and may quote a value). */
  problems?: Record<string, number>;
  /**
   * The header's timestamps (ISO, as the reader decodes them): for GO files `previousRunDate` (start of the period
   * covered: the first timestamp), `runDate` (its end: the last) and `creationDate`.
   */
  header?: Record<string, string>;
  /**
   * Codes the flow noted for the file, in order: the error code that failed it (e.g. CHANGES_DISCARDED,
   * MISSING_TRAILER), the alerts and decisions of nodes that held it (e.g. CHANGES_SAFETY_STOP, CHANGES_ACCEPTED).
   */
  codes?: string[];
}

export interface AuditRecord {
  /** ISO time of the step (UTC). */
  at: string;
  outcome: PollerEvent['outcome'];
  file: string;
  size?: number;
  /** ISO time the file was last modified on the hub. */
  mtime?: string;
  deliveryId?: string;
  attempt?: number;
  reason?: PollerEvent['reason'];
  movedTo?: string;
  /** Where it was polled from: the node and the ledger (server, folder and pattern). */
  source?: { node?: string; name?: string; ledger?: string };
  sha256?: string;
  read?: Omit<FileFacts, 'sha256'>;
  /** The period the file covers, from its header: its first and last timestamps (previousRunDate, runDate). */
  period?: { from?: string; to?: string };
  /** What the flow noted of the file (see FileFacts.codes): codes only. */
  codes?: string[];
}

const ISO = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?Z?)?$/;
const CODE = /^[A-Za-z?][\w.-]{0,63}$/;

/**
 * Builds an audit record from a poller event and what is known of the file. Only shapes that can hold no value
 * get through: numbers, ISO timestamps, hex hashes, code-shaped keys; anything else is dropped.
 */
export function auditRecord(event: PollerEvent, facts?: FileFacts, source?: AuditRecord['source']): AuditRecord {
  const r: AuditRecord = { at: new Date(event.at).toISOString(), outcome: event.outcome, file: event.name };
  if (event.size !== undefined) r.size = event.size;
  if (event.mtime !== undefined) r.mtime = new Date(event.mtime).toISOString();
  if (event.deliveryId) r.deliveryId = event.deliveryId;
  if (event.attempt !== undefined) r.attempt = event.attempt;
  if (event.reason) r.reason = event.reason;
  if (event.movedTo) r.movedTo = event.movedTo;
  if (source) r.source = source;
  if (facts?.sha256 && /^[0-9a-f]{64}$/.test(facts.sha256)) r.sha256 = facts.sha256;
  const codes = [...new Set((facts?.codes ?? []).filter((c) => typeof c === 'string' && CODE.test(c)))];
  if (codes.length) r.codes = codes;
  if (facts && (facts.layout || facts.records)) {
    const read: NonNullable<AuditRecord['read']> = {};
    if (facts.layout && CODE.test(facts.layout)) read.layout = facts.layout;
    if (typeof facts.sound === 'boolean') read.sound = facts.sound;
    if (Number.isFinite(facts.lines)) read.lines = facts.lines;
    if (facts.records) read.records = counts(facts.records);
    if (Number.isFinite(facts.errorCount)) read.errorCount = facts.errorCount;
    if (Number.isFinite(facts.warningCount)) read.warningCount = facts.warningCount;
    if (facts.problems) read.problems = counts(facts.problems);
    const header = Object.fromEntries(Object.entries(facts.header ?? {}).filter(([k, v]) => CODE.test(k) && typeof v === 'string' && ISO.test(v)));
    if (Object.keys(header).length) {
      read.header = header;
      if (header.previousRunDate || header.runDate) r.period = { from: header.previousRunDate, to: header.runDate };
    }
    r.read = read;
  }
  return r;
}

function counts(o: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(o).filter(([k, v]) => CODE.test(k) && Number.isFinite(v)));
}
