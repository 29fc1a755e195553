/**
 * The flows the Node-RED figures deploy, one small function each, with the sink (what writes the mapped records to a
 * local file) as a parameter. Every flow lives in tab `bench` beside `markerNodes` (done / fail) and writes a
 * `summary.json` marker with esr-read's summary, so the run can check the file was read whole.
 */
import * as path from 'node:path';
import { markerNodes, type FlowNode } from './nodered';

const Z = 'bench';

/** The output file every flow writes, in the user directory. */
export const OUTPUT = 'out.csv';

/** esr-map's 4 rules (two copied fields, one copied date and one date through a helper), and the record type. */
export const RULES = [
  { target: 'recordType', template: 'STF' }, // the extract layout's one record type (esr-write's sink needs it)
  { target: 'type', template: '{{recordType}}' },
  { target: 'person', template: '{{personId}}' },
  { target: 'start', template: '{{effectiveStartDate}}' },
  { target: 'updated', template: '{{#isoToYmd}}{{lastUpdateDate}}{{/isoToYmd}}' },
];
const COLUMNS = RULES.filter((r) => r.target !== 'recordType').map((r) => r.target).join(',');

/**
 * A sink takes mapped messages (a record or an array of records in msg.payload, a msg.parts sequence) at node
 * `entry`, writes them to `outFile`, one line per record, and sends one message to node `done` once the last is
 * written. A message ending with msg.reset (a failed file) must reach the Catch node instead.
 */
export type Sink = (ids: { entry: string; done: string }, outFile: string) => FlowNode[];

/** Passes on only the message that ends its sequence (or one of no sequence, as the core csv node's last). */
const LAST_OF_SEQUENCE = [
  "if (msg.reset !== undefined) { node.error('the sequence ended with msg.reset: the file failed', msg); return null; }",
  'const p = msg.parts;',
  'return !p || (p.count !== undefined && p.index + 1 >= p.count) ? msg : null;',
].join('\n');

/** Core `csv` (object → a CSV line; an array → one line each) → core `file` (append per message). */
export const coreCsvFileSink: Sink = ({ entry, done }, outFile) => [
  { id: entry, type: 'csv', z: Z, spec: 'rfc', sep: ',', hdrin: false, hdrout: 'none', multi: 'one', ret: '\\n', temp: COLUMNS, skip: '0', strings: false, include_empty_strings: '', include_null_values: '', wires: [[`${entry}-file`]] },
  { id: `${entry}-file`, type: 'file', z: Z, filename: outFile, filenameType: 'str', appendNewline: false, createDir: false, overwriteFile: 'false', encoding: 'none', wires: [[`${entry}-end`]] },
  { id: `${entry}-end`, type: 'function', z: Z, func: LAST_OF_SEQUENCE, outputs: 1, wires: [[done]] },
];

/** The target file as a layout of the trust's own (invented for the benchmarks: not ESR's), for esr-write. */
export const EXTRACT_LAYOUT = path.join(__dirname, '..', '..', 'bench', 'layouts', 'staff-extract.json');

/**
 * esr-write with the extract layout, output to a local folder: each record (or batch) encoded as it arrives and
 * appended to one temporary file, written in place when the sequence ends (the pack's way to write a file record by
 * record). The user directory is the local base; the file is named by the name parts.
 */
export const esrWriteSink: Sink = ({ entry, done }, outFile) => [
  { id: entry, type: 'esr-write', z: Z, layout: 'file', layoutFile: EXTRACT_LAYOUT, vpd: '', vpdType: 'str', nameParts: JSON.stringify({ name: path.basename(outFile) }), namePartsType: 'json', header: '{}', headerType: 'json', eol: '', skipInvalid: false, output: 'file', folder: '.', wires: [[done], []] },
];

/** The sink of our flows: esr-write to a local file. */
export const SINK: Sink = esrWriteSink;

export interface ReadOptions {
  mode: 'record' | 'batch';
  /** esr-read's layout: 'auto' (the default: from the file name or first line) or a built-in id such as go-gdw */
  layout?: string;
  batchSize?: number;
}

/** esr-read (input `input`) → esr-map (RULES) → sink; the summary goes to summary.json. Entry node: `read`. */
function readMapWrite(userDir: string, input: 'path' | 'payload', o: ReadOptions, sink: Sink): FlowNode[] {
  return [
    { id: 'read', type: 'esr-read', z: Z, layout: o.layout ?? 'auto', layoutFile: '', lenient: false, input, mode: o.mode, batchSize: o.batchSize ?? 1000, grouping: 'blocks', date: '', dateType: 'str', filename: 'filename', filenameType: 'msg', wires: [['map'], [], ['summary']] },
    { id: 'map', type: 'esr-map', z: Z, rules: RULES, lookups: [], recordTypes: '', condition: '', spreadsheetSafe: false, keepEmpty: false, wires: [['sink']] },
    ...sink({ entry: 'sink', done: 'done' }, path.join(userDir, OUTPUT)),
    { id: 'summary', type: 'function', z: Z, func: 'msg.payload = JSON.stringify({ sound: msg.payload.sound, records: msg.payload.records, errorCount: msg.payload.errorCount });\nreturn msg;', outputs: 1, wires: [['summary-file']] },
    { id: 'summary-file', type: 'file', z: Z, filename: path.join(userDir, 'summary.json'), filenameType: 'str', appendNewline: true, createDir: false, overwriteFile: 'true', encoding: 'none', wires: [[]] },
    ...markerNodes(Z, userDir),
  ];
}

/** inject the name of `file` (in the user directory) → esr-read (path input) → esr-map → sink. */
export function esrPathFlow(userDir: string, file: string, o: ReadOptions, sink: Sink = SINK): FlowNode[] {
  return [
    { id: Z, type: 'tab', label: 'bench' },
    { id: 'go', type: 'inject', z: Z, once: true, onceDelay: 0.1, repeat: '', props: [{ p: 'payload' }], payload: file, payloadType: 'str', wires: [['read']] },
    ...readMapWrite(userDir, 'path', o, sink),
  ];
}

/**
 * Node-RED's core nodes only, the same job as esr-read → esr-map → the core sink: `file in` (one message per line) →
 * `csv` (tilde-separated columns) → `change` (4 rules: the core nodes know no ESR layout, so columns by position,
 * the date through JSONata) → the same core csv → file sink. Header and trailer lines are written as rows too, and
 * so is the empty piece after the file's last newline (the csv node's closing message, which ends the run).
 */
export function coreNodesFlow(userDir: string, file: string): FlowNode[] {
  const col = (p: string, c: number) => ({ t: 'set', p: `out.${p}`, pt: 'msg', to: `payload.col${c}`, tot: 'msg' });
  return [
    { id: Z, type: 'tab', label: 'bench' },
    { id: 'go', type: 'inject', z: Z, once: true, onceDelay: 0.1, repeat: '', props: [{ p: 'payload' }], payload: '', payloadType: 'str', wires: [['in']] },
    { id: 'in', type: 'file in', z: Z, filename: path.join(userDir, file), filenameType: 'str', format: 'lines', chunk: false, sendError: false, encoding: 'none', allProps: false, wires: [['parse']] },
    { id: 'parse', type: 'csv', z: Z, spec: 'rfc', sep: '~', hdrin: false, hdrout: 'none', multi: 'one', ret: '\\n', temp: '', skip: '0', strings: false, include_empty_strings: '', include_null_values: '', wires: [['change']] },
    {
      id: 'change',
      type: 'change',
      z: Z,
      rules: [col('type', 1), col('person', 2), col('start', 3), { t: 'set', p: 'out.updated', pt: 'msg', to: 'payload.col4 ? $replace(payload.col4, "-", "") : ""', tot: 'jsonata' }, { t: 'move', p: 'out', pt: 'msg', to: 'payload', tot: 'msg' }],
      wires: [['sink']],
    },
    ...coreCsvFileSink({ entry: 'sink', done: 'done' }, path.join(userDir, OUTPUT)),
    ...markerNodes(Z, userDir),
  ];
}

/** The hub as esr-sftp-server sees it. */
export interface Hub {
  host: string;
  port: number;
  username: string;
  privateKey: string;
  fingerprint: string;
  /** the server node's root folder */
  root: string;
  /** the folder polled, under root */
  folder: string;
}

/**
 * esr-sftp-in polls `hub.folder` (the file is there before deploy; stable at once) and hands the download on as a
 * stream → esr-read (payload input) → esr-map → sink. The file is left on the hub, unconfirmed: each run has its
 * own user directory, so its own ledger.
 */
export function e2eFlow(userDir: string, hub: Hub, o: ReadOptions, sink: Sink = SINK): FlowNode[] {
  return [
    { id: Z, type: 'tab', label: 'bench' },
    { id: 'bench-hub', type: 'esr-sftp-server', name: 'ESR hub (bench)', protocol: 'sftp', host: hub.host, port: hub.port, username: hub.username, root: hub.root, hostFingerprint: hub.fingerprint, acceptAnyHostKey: false, timeoutSec: 30, keepaliveSec: 10, credentials: { privateKey: hub.privateKey } },
    { id: 'bench-state', type: 'esr-state', name: 'ESR state (bench)', backend: 'local', folder: '', prefix: 'esr' },
    { id: 'poll', type: 'esr-sftp-in', z: Z, server: 'bench-hub', operation: 'poll', folder: hub.folder, folderType: 'str', filename: 'filename', filenameType: 'msg', glob: '*.DAT', output: 'stream', intervalSec: 3600, stableSec: 0, maxPerPoll: 1, inOrder: true, after: 'leave', claim: 'ledger', archiveFolder: '', errorFolder: '', claimTimeoutMin: 60, maxAttempts: 1, state: 'bench-state', expectBy: '', wires: [['read']] },
    ...readMapWrite(userDir, 'payload', o, sink),
  ];
}
