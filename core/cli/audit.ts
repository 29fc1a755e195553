/**
 * `esr audit`: what happened to a file, from the JSON-lines log of esr-audit events (one event a line, as a file node
 * appending esr-audit's first output writes it). Reads the logs given (or stdin for `-`), keeps the events of the
 * files named by `--file` (a name or a glob; all files without it), and tells each file's story in time order: every
 * step, its attempt, where the file went, and what the read found. Lines that are not audit events are skipped and
 * counted, never echoed (the log is the trust's; we print facts of events only).
 */
import * as fs from 'node:fs';
import * as readline from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { AUDIT_OUTCOMES, type AuditRecord } from '../poller';
import { globToRegExp } from '../transport';

export interface AuditQuery {
  /** Logs to read; `-` is stdin. */
  logs: string[];
  /** A file name or a glob (`*`, `?`); every file when absent. */
  file?: string;
  json?: boolean;
}

/** Reads audit events (JSON lines) from a stream; `skipped` counts lines that are not audit events. */
export async function readAuditLog(input: Readable, match: (name: string) => boolean, into: AuditRecord[]): Promise<number> {
  let skipped = 0;
  for await (const line of readline.createInterface({ input, crlfDelay: Infinity })) {
    if (!line.trim()) continue;
    let e: unknown;
    try {
      e = JSON.parse(line);
    } catch {
      skipped++;
      continue;
    }
    // A file node may have written the whole message: take its payload.
    const r = (e && typeof e === 'object' && 'payload' in e ? (e as { payload: unknown }).payload : e) as AuditRecord | undefined;
    if (!r || typeof r.file !== 'string' || typeof r.at !== 'string' || !(AUDIT_OUTCOMES as readonly string[]).includes(r.outcome)) {
      skipped++;
      continue;
    }
    if (match(r.file)) into.push(r);
  }
  return skipped;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Why a file was handed back, as the story tells it (only these texts: the log is not trusted to hold no value). */
const REASONS: Record<string, string> = {
  timeout: 'no confirmation in time',
  handedBack: 'handed back',
  restarted: 'the runtime restarted or the node was redeployed',
};

/** One line of a file's story. */
export function describeStep(r: AuditRecord): string {
  const parts = [r.at, r.outcome.padEnd(14)];
  if (r.attempt !== undefined) parts.push(`attempt ${r.attempt}`);
  if (r.reason) parts.push(`(${REASONS[r.reason] ?? 'handed back'})`);
  if (r.outcome === 'taken' && r.size !== undefined) parts.push(`${r.size} bytes`);
  if (r.movedTo) parts.push(`-> ${r.movedTo}`);
  if (r.sha256) parts.push(`sha256 ${r.sha256}`);
  const read = r.read;
  if (read) {
    const counts = Object.entries(read.records ?? {}).map(([k, v]) => `${k} ${v}`).join(', ');
    parts.push(`| read${read.layout ? ` as ${read.layout}` : ''}: ${read.sound === false ? 'NOT sound' : 'sound'}${read.lines !== undefined ? `, ${plural(read.lines, 'line')}` : ''}${counts ? ` (${counts})` : ''}`);
    const found = [read.errorCount ? plural(read.errorCount, 'error') : '', read.warningCount ? plural(read.warningCount, 'warning') : ''].filter(Boolean).join(', ');
    if (found) parts.push(`${found}: ${Object.entries(read.problems ?? {}).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  }
  if (r.period?.to) parts.push(r.period.from ? `| covers ${r.period.from} to ${r.period.to}` : `| covers up to ${r.period.to}`);
  if (r.codes?.length) parts.push(`| noted: ${r.codes.join(', ')}`);
  return parts.join('  ');
}

function verdict(steps: AuditRecord[]): string {
  const last = steps[steps.length - 1];
  const attempts = Math.max(0, ...steps.map((s) => s.attempt ?? 0));
  const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
  switch (last.outcome) {
    case 'done':
      return `done${tries}${last.codes?.length ? ` (${last.codes.join(', ')})` : ''}${last.movedTo ? ` (now ${last.movedTo})` : ''}`;
    case 'failed':
      return `FAILED${last.codes?.length ? ` (${last.codes.join(', ')})` : ''}: the flow failed it${last.movedTo ? `; moved to ${last.movedTo}` : ''}`;
    case 'moved-to-error':
      return `FAILED${tries}: never confirmed${last.movedTo ? `; moved to ${last.movedTo}` : ''}`;
    case 'retried':
      return 'handed back: waiting to be taken again';
    default:
      return `taken (attempt ${last.attempt ?? 1}), not settled yet: in flight, or the log ends before its outcome`;
  }
}

/** Runs the query; returns the exit code (0 events found, 1 none). */
export async function audit(q: AuditQuery, io: { stdin: Readable; stdout: Writable; stderr: Writable }): Promise<number> {
  const re = q.file ? globToRegExp(q.file) : undefined;
  const match = (name: string) => !re || re.test(name);
  const events: AuditRecord[] = [];
  let skipped = 0;
  for (const log of q.logs) skipped += await readAuditLog(log === '-' ? io.stdin : fs.createReadStream(log), match, events);
  if (skipped) io.stderr.write(`esr: ${skipped} line(s) skipped: not audit events\n`);
  events.sort((a, b) => a.at.localeCompare(b.at));
  if (q.json) {
    for (const e of events) io.stdout.write(`${JSON.stringify(e)}\n`);
    return events.length ? 0 : 1;
  }
  if (!events.length) {
    io.stdout.write(`no audit event${q.file ? ` for ${q.file}` : ''}\n`);
    return 1;
  }
  // One story per file and feed: each system's poller takes its own copy of a file (its own ledger).
  const byFile = new Map<string, { heading: string; steps: AuditRecord[] }>();
  for (const e of events) {
    const feed = e.source?.ledger ?? e.source?.name ?? '';
    const key = `${e.file}\n${feed}`;
    if (!byFile.has(key)) byFile.set(key, { heading: feed ? `${e.file}\n  polled by: ${e.source?.name ?? feed}` : e.file, steps: [] });
    byFile.get(key)!.steps.push(e);
  }
  for (const { heading, steps } of byFile.values()) {
    io.stdout.write(`${heading}\n`);
    for (const s of steps) io.stdout.write(`  ${describeStep(s)}\n`);
    const ids = [...new Set(steps.map((s) => s.deliveryId).filter(Boolean))];
    // A delivery id is the name, size and time of the file on the hub: a copy put there again gets a new one.
    const hashOf = (id: unknown) => steps.find((s) => s.deliveryId === id && s.sha256)?.sha256;
    const hashes = new Set(ids.map(hashOf));
    const again = hashes.has(undefined) ? 'delivered again' : hashes.size > 1 ? 'the content changed between deliveries' : 'delivered again, the same content';
    if (ids.length) io.stdout.write(`  delivery id${ids.length > 1 ? `s (${again})` : ''}: ${ids.join(', ')}\n`);
    io.stdout.write(`  outcome: ${verdict(steps)}\n\n`);
  }
  return 0;
}
