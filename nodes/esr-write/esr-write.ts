/**
 * esr-write: records in (an array in one message, or one per message closed by the end of a msg.parts sequence
 * or msg.complete), one file out as msg.payload (Buffer) and msg.filename, ready for esr-sftp-out.
 * Invalid records fail the file (done(err)) unless "skip invalid records" is on; then they go to output 2.
 */
import { type CompiledLayout, type EsrRecord, buildFileName, writeFile, type FileNameParts } from '../../core/codec';
import { evaluate, type Node, type NodeAPI, type NodeMessage } from '../shared/node-red';
import { fixedLayout, type LayoutConfig } from '../shared/layout-choice';
import { nextSequence } from '../shared/sequence';
import { defaultStore, stateStoreFor } from '../shared/state';
import { messagesFor } from '../shared/messages';
import { OwnStatus } from '../shared/status';
import { limitError, limitFor } from '../shared/limits';

interface WriteConfig extends LayoutConfig {
  name?: string;
  vpd: string;
  vpdType: string;
  nameParts: string;
  namePartsType: string;
  header: string;
  headerType: string;
  eol?: '' | 'lf' | 'crlf' | 'cr';
  skipInvalid: boolean;
  /** The esr-state node where sequence numbers are kept; empty for the default local folder. */
  state?: string;
  /** The Node-RED context store older versions kept numbers in: read once, to go on from there. */
  store?: string;
  firstSequence?: number | string;
  /** The most records held for one file being built; empty: settings.js esrLimits.writeRecords, else the default. */
  maxRecords?: number | string;
}

interface OpenFile {
  first: NodeMessage;
  records: EsrRecord[];
}

function today(): string {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

function nowIso(): string {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export = function register(RED: NodeAPI): void {
  const t = messagesFor(RED, 'esr-write');
  function EsrWrite(this: Node, config: WriteConfig): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const own = new OwnStatus(node);
    let layout: CompiledLayout | undefined;
    try {
      layout = fixedLayout(config, t);
      if (!layout) throw new Error(t('errors.chooseLayout'));
    } catch (err) {
      node.status({ fill: 'red', shape: 'ring', text: t('status.layoutError') });
      node.error(err);
    }
    const open = new Map<string, OpenFile>();
    const maxRecords = limitFor(RED, 'writeRecords', config.maxRecords);
    /** Fails the file at its bound, before memory runs short (the records are dropped by the caller). */
    const bounded = (count: number, msg: NodeMessage) => {
      if (count <= maxRecords) return;
      const file = typeof msg.filename === 'string' && msg.filename ? msg.filename : t('errors.theFile');
      throw limitError(t('errors.tooManyRecords', { file, limit: maxRecords }), 'TOO_MANY_RECORDS', maxRecords);
    };
    /** Sequences that already failed: their remaining messages are dropped, so no partial file is made. */
    const failed = new Set<string>();
    /**
     * Files are built one at a time, in the order their sequences ended: each takes the next sequence number and
     * leaves before the next one starts, so file 2 never overtakes file 1 on its way to the hub.
     */
    let building: Promise<unknown> = Promise.resolve();
    const buildInTurn = (file: OpenFile, send: (m: (NodeMessage | null)[]) => void): Promise<void> => {
      const turn = building.then(() => build(file, send));
      building = turn.catch(() => undefined);
      return turn;
    };

    const parseJson = async (value: string, type: string, msg: NodeMessage, notObject: string): Promise<Record<string, unknown>> => {
      if (!value && type === 'json') return {};
      const v = await evaluate(RED, node, value || '{}', type || 'json', msg);
      if (v === undefined || v === null || v === '') return {};
      if (typeof v !== 'object' || Array.isArray(v)) throw new Error(t(notObject));
      return v as Record<string, unknown>;
    };

    async function build(file: OpenFile, send: (m: (NodeMessage | null)[]) => void): Promise<void> {
      if (!layout) throw new Error(t('errors.noLayout'));
      const msg = file.first;
      const vpd = String((await evaluate(RED, node, config.vpd || '', config.vpdType || 'str', msg)) ?? '');
      const parts: FileNameParts = { vpd, date: today(), ...((await parseJson(config.nameParts, config.namePartsType, msg, 'errors.namePartsNotObject')) as FileNameParts) };
      const headerIn = await parseJson(config.header, config.headerType, msg, 'errors.headerNotObject');
      const header: Record<string, unknown> = {};
      for (const f of layout.header?.fields ?? []) {
        if (parts[f.key] !== undefined) header[f.key] = String(parts[f.key]);
        else if (f.kind === 'timestamp' && /creation/i.test(f.name)) header[f.key] = nowIso();
      }
      Object.assign(header, headerIn);
      const options = {
        eol: config.eol || undefined,
        skipInvalid: config.skipInvalid === true,
        header: layout.header ? header : undefined,
      };
      // A dry run first: a file that cannot be written does not use up a sequence number.
      const trial = await writeFile(layout, file.records, { ...options, fileName: layout.spec.fileName ? { ...parts, sequence: 0 } : undefined });
      if (trial.rejected.length === file.records.length && file.records.length > 0) throw new Error(t('errors.allInvalid'));
      // Numbered per layout and the VPD in the file name (name parts may set it), so two writers never share a number.
      const sequence = layout.spec.fileName
        ? await nextSequence(stateStoreFor(RED, config.state, t('errors.noState')), node, config.store, layout.id, String(parts.vpd ?? vpd), Number(config.firstSequence) || 1, defaultStore(RED))
        : undefined;
      const fileName = layout.spec.fileName ? buildFileName(layout, { ...parts, sequence: sequence! }) : undefined;
      const result = await writeFile(layout, file.records, { ...options, fileName: fileName ? { ...parts, sequence: sequence! } : undefined });
      for (const r of result.rejected) {
        // Shaped like esr-read's rejects: the record, and its problems.
        const { code, recordNumber, recordType, field, message } = r.error;
        send([null, { payload: r.record, topic: recordType ?? 'rejected', recordNumber, problems: [{ recordNumber, recordType, field, code, message }] }]);
      }
      const { parts: _p, complete: _c, ...rest } = msg;
      own.succeed({ fill: 'green', shape: 'dot', text: t('status.written', { file: fileName ?? layout.id, count: file.records.length - result.rejected.length }) });
      send([{ ...rest, payload: result.bytes, filename: fileName, esr: { layout: layout.id, vpd, sequence, records: result.counts, rejected: result.rejected.length } }, null]);
    }

    node.on('input', (msg, send, done) => {
      const work = async () => {
        if (!layout) throw new Error(t('errors.noLayout'));
        const parts = msg.parts as { id?: string; index?: number; count?: number } | undefined;
        if (Array.isArray(msg.payload) && !parts) {
          bounded(msg.payload.length, msg);
          return buildInTurn({ first: msg, records: msg.payload as EsrRecord[] }, send);
        }
        const key = parts?.id ?? '_open';
        if (parts?.id && failed.has(parts.id)) {
          if (typeof parts.count === 'number') failed.delete(parts.id);
          return;
        }
        if (msg.reset !== undefined) {
          // The sequence's source failed (esr-read sets msg.reset on the last message of a bad file): no file.
          open.delete(key);
          return;
        }
        let file = open.get(key);
        if (!file) open.set(key, (file = { first: msg, records: [] }));
        bounded(file.records.length + (Array.isArray(msg.payload) ? msg.payload.length : 1), msg);
        if (Array.isArray(msg.payload)) for (const r of msg.payload as EsrRecord[]) file.records.push(r); // a batch of a sequence (no spread: a big batch would pass the argument limit)
        else if (msg.payload !== undefined && msg.payload !== null) {
          if (typeof msg.payload !== 'object') throw new Error(t('errors.badPayload'));
          file.records.push(msg.payload as EsrRecord);
        }
        // The message carrying parts.count ends the sequence (messages are delivered in order), also when a filter
        // upstream removed some of them; without parts, msg.complete ends it.
        const last = parts ? typeof parts.count === 'number' : msg.complete !== undefined;
        if (!last) return;
        open.delete(key);
        await buildInTurn(file, send);
      };
      work().then(() => done(), (err) => {
        const parts = msg.parts as { id?: string; count?: number } | undefined;
        open.delete(parts?.id ?? '_open'); // a failed file is dropped whole, never produced half-valid
        if (parts?.id && typeof parts.count !== 'number') failed.add(parts.id);
        own.fail(err, t('status.failed')); // red with the code until a file is written
        done(err);
      });
    });

    node.on('close', (_removed, done) => {
      open.clear();
      done();
    });
  }

  RED.nodes.registerType('esr-write', EsrWrite as never);
};
