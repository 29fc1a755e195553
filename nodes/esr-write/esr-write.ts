/**
 * esr-write: records in (an array in one message, or one per message or per batch closed by the end of a msg.parts
 * sequence or msg.complete), one file out: msg.payload as a Buffer (the default), as a stream of the finished file
 * (for esr-sftp-out), or a file written in place in a local folder; msg.filename names it.
 * Invalid records fail the file (done(err)) unless "skip invalid records" is on; then they go to output 2.
 *
 * Each record is encoded as it arrives (never held as an object, never encoded twice): into memory for the Buffer
 * output (bounded by "Hold at most"), else appended to one temporary file (see spool.ts), so a file of any size
 * needs no more memory than a write buffer. The header, which holds the file name and so the sequence number, is
 * built at the end, once the file is known to be sound, and goes in front of the body then.
 */
import * as path from 'node:path';
import * as fs from 'node:fs';
import { type CompiledLayout, EsrWriter, type WriteReject, buildFileName, type FileNameParts } from '../../core/codec';
import { evaluate, type Node, type NodeAPI, type NodeMessage } from '../shared/node-red';
import { fixedLayout, type LayoutConfig } from '../shared/layout-choice';
import { nextSequence } from '../shared/sequence';
import { defaultStore, stateStoreFor } from '../shared/state';
import { messagesFor } from '../shared/messages';
import { OwnStatus } from '../shared/status';
import { limitError, limitFor } from '../shared/limits';
import { confinedPath, inside, localBase } from '../shared/local-path';
import { handOut } from '../shared/streams';
import { type Body, finishedStream, MemoryBody, removeQuietly, removeStaleSpools, SpooledBody, spoolFolder, writeInPlace } from './spool';

/** Encoded bytes are handed to the body in pieces of about this many characters: one file operation per piece. */
const PIECE = 64 * 1024;

/** What esr-write sends: the file as a Buffer (today's), a stream of the finished file, or a local file. */
type OutputKind = 'buffer' | 'stream' | 'file';

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
  /** absent (an older flow): 'buffer'. */
  output?: OutputKind;
  /** For output 'file': the folder, relative to the local base (settings.js esrLocalBase, else the user directory). */
  folder?: string;
}

interface OpenFile {
  first: NodeMessage;
  writer: EsrWriter;
  body: Body;
  /** Records added (valid or not). */
  records: number;
  rejected: WriteReject[];
  /** Its temporary file went on as a stream, which removes it when it closes. */
  handedOn?: boolean;
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
    const output: OutputKind = config.output === 'stream' || config.output === 'file' ? config.output : 'buffer';
    const userDir = String(RED.settings.userDir ?? process.cwd());
    /** Temporary files of this node that are not yet made into a file or handed on: removed at close. */
    const spooled = new Set<string>();
    removeStaleSpools(userDir);
    /** Set when the node closes (redeploy, stop): messages still arriving then start no file. */
    let closed = false;
    const maxRecords = limitFor(RED, 'writeRecords', config.maxRecords);
    /**
     * Fails the file at its bound, before memory runs short (the caller drops it). The Buffer output holds the file,
     * so its records are bounded; the other outputs hold only the rejected records in memory.
     */
    const bounded = (open: OpenFile, more: number, msg: NodeMessage) => {
      const count = output === 'buffer' ? open.records + more : open.rejected.length;
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
      const turn = building.then(() => build(file, send)).finally(() => release(file));
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

    const start = (msg: NodeMessage): OpenFile => {
      if (!layout) throw new Error(t('errors.noLayout'));
      // The header is built at the end, with the file's name and number (see EsrWriter's deferHeader).
      const writer = new EsrWriter(layout, { eol: config.eol || undefined, skipInvalid: config.skipInvalid === true, header: layout.header ? {} : undefined, deferHeader: true });
      let body: Body;
      if (output === 'buffer') body = new MemoryBody();
      else {
        const spool = new SpooledBody(spoolFolder(userDir), node.id);
        spooled.add(spool.file);
        body = spool;
      }
      return { first: msg, writer, body, records: 0, rejected: [] };
    };
    /** Drops what a file not made (or already handed on) still holds: its temporary file goes unless a stream took it. */
    const releasing = new Set<Promise<void>>();
    const release = (file: OpenFile) => {
      if (file.handedOn) return;
      const gone = file.body.discard();
      releasing.add(gone);
      void gone.finally(() => releasing.delete(gone));
      if (file.body instanceof SpooledBody) spooled.delete(file.body.file);
    };
    /** Adds records to a file; a promise when the body asks to wait (its disk is behind). */
    const add = (file: OpenFile, records: unknown[], msg: NodeMessage): Promise<void> | undefined => {
      bounded(file, records.length, msg);
      for (const r of records) {
        const reject = file.writer.add(r);
        if (reject) file.rejected.push(reject);
      }
      file.records += records.length;
      bounded(file, 0, msg);
      return file.writer.pending >= PIECE ? file.body.write(file.writer.takeBytes()) : undefined;
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
      await file.body.write(file.writer.takeBytes());
      await file.body.close();
      // The end checked first, with number 0 (every record is checked already): a file that cannot be written does
      // not use up a sequence number.
      file.writer.fileEnds({ fileName: layout.spec.fileName ? buildFileName(layout, { ...parts, sequence: 0 }) : undefined, header });
      if (file.rejected.length === file.records && file.records > 0) throw new Error(t('errors.allInvalid'));
      const target = output === 'file' ? await folderFor() : undefined;
      // Numbered per layout and the VPD in the file name (name parts may set it), so two writers never share a number.
      const sequence = layout.spec.fileName
        ? await nextSequence(stateStoreFor(RED, config.state, t('errors.noState')), node, config.store, layout.id, String(parts.vpd ?? vpd), Number(config.firstSequence) || 1, defaultStore(RED))
        : undefined;
      const fileName = layout.spec.fileName ? buildFileName(layout, { ...parts, sequence: sequence! }) : undefined;
      const ends = file.writer.fileEnds({ fileName, header });
      // A layout without a file name pattern (a target system's file): named by the name parts' `name`, else by
      // msg.filename of the sequence's first message.
      const given = [parts.name, msg.filename].find((n): n is string => typeof n === 'string' && n !== '');
      let payload: Buffer | NodeJS.ReadableStream | undefined;
      let written: string | undefined;
      if (file.body instanceof MemoryBody) payload = Buffer.concat([ends.head, ...file.body.chunks, ends.tail]);
      else if (output === 'stream') {
        const stream = finishedStream(ends.head, (file.body as SpooledBody).file, ends.tail);
        const temp = (file.body as SpooledBody).file;
        stream.once('close', () => spooled.delete(temp));
        handOut(stream);
        file.handedOn = true; // the stream's now: removed when it closes (or when this node closes)
        payload = stream;
      } else {
        // Without a name given either: the layout's id.
        const name = path.basename(fileName ?? given ?? `${layout.id}.txt`);
        written = path.join(target!, name);
        await writeInPlace(ends.head, (file.body as SpooledBody).file, ends.tail, written);
      }
      for (const r of file.rejected) {
        // Shaped like esr-read's rejects: the record, and its problems.
        const { code, recordNumber, recordType, field, message } = r.error;
        send([null, { payload: r.record, topic: recordType ?? 'rejected', recordNumber, problems: [{ recordNumber, recordType, field, code, message }] }]);
      }
      const { parts: _p, complete: _c, ...rest } = msg;
      own.succeed({ fill: 'green', shape: 'dot', text: t('status.written', { file: fileName ?? layout.id, count: file.records - file.rejected.length }) });
      const esr = { layout: layout.id, vpd, sequence, records: ends.counts, rejected: file.rejected.length, ...(written ? { path: written } : {}) };
      const out: NodeMessage = { ...rest, filename: written ? path.basename(written) : (fileName ?? given), esr };
      if (payload !== undefined) out.payload = payload;
      else delete out.payload; // a local file: nothing to upload by mistake
      send([out, null]);
    }

    /** The local folder of output 'file', made if missing; refused outside the local base (PATH_OUTSIDE_BASE). */
    async function folderFor(): Promise<string> {
      const base = localBase(RED);
      const folder = config.folder || '.';
      const named = path.resolve(base, folder);
      // Made only inside the base; confinedPath refuses one outside (checked again once links are resolved).
      if (inside(base, named)) await fs.promises.mkdir(named, { recursive: true });
      return confinedPath(base, folder, (f) => t('errors.outsideBase', { folder: f }));
    }

    node.on('input', (msg, send, done) => {
      // Synchronous up to the first wait, so that a failed sequence is marked before its next message arrives (and
      // a message that needs no wait costs no promise).
      const work = (): Promise<void> | undefined => {
        if (closed) return; // the flows are stopping: the file goes with the node
        if (!layout) throw new Error(t('errors.noLayout'));
        const parts = msg.parts as { id?: string; index?: number; count?: number } | undefined;
        if (Array.isArray(msg.payload) && !parts) {
          const file = start(msg);
          let wait: Promise<void> | undefined;
          try {
            wait = add(file, msg.payload, msg);
          } catch (err) {
            release(file);
            throw err;
          }
          return (wait ?? Promise.resolve()).then(
            () => buildInTurn(file, send),
            (err) => {
              release(file);
              throw err;
            },
          );
        }
        const key = parts?.id ?? '_open';
        if (parts?.id && failed.has(parts.id)) {
          if (typeof parts.count === 'number') failed.delete(parts.id);
          return;
        }
        if (msg.reset !== undefined) {
          // The sequence's source failed (esr-read sets msg.reset on the last message of a bad file): no file.
          const dropped = open.get(key);
          open.delete(key);
          if (dropped) release(dropped);
          return;
        }
        let file = open.get(key);
        if (!file) open.set(key, (file = start(msg)));
        let wait: Promise<void> | undefined;
        if (Array.isArray(msg.payload)) wait = add(file, msg.payload, msg); // a batch of a sequence
        else if (msg.payload !== undefined && msg.payload !== null) {
          if (typeof msg.payload !== 'object') throw new Error(t('errors.badPayload'));
          wait = add(file, [msg.payload], msg);
        }
        // The message carrying parts.count ends the sequence (messages are delivered in order), also when a filter
        // upstream removed some of them; without parts, msg.complete ends it.
        // done() once the disk took the bytes: an upstream that waits for done is paced by the disk.
        const last = parts ? typeof parts.count === 'number' : msg.complete !== undefined;
        if (!last) return wait;
        open.delete(key);
        const ending = file;
        return (wait ?? Promise.resolve()).then(
          () => buildInTurn(ending, send),
          (err) => {
            release(ending);
            throw err;
          },
        );
      };
      const failedWith = (err: unknown) => {
        const parts = msg.parts as { id?: string; count?: number } | undefined;
        const key = parts?.id ?? '_open';
        const dropped = open.get(key);
        open.delete(key); // a failed file is dropped whole, never produced half-valid
        if (dropped) release(dropped);
        if (parts?.id && typeof parts.count !== 'number') failed.add(parts.id);
        own.fail(err, t('status.failed')); // red with the code until a file is written
        done(err as Error);
      };
      let working: Promise<void> | undefined;
      try {
        working = work();
      } catch (err) {
        return failedWith(err);
      }
      if (working) working.then(() => done(), failedWith);
      else done();
    });

    node.on('close', (_removed, done) => {
      closed = true;
      // Files still arriving, and streams handed on but not yet read, go with the node (a redeploy or a stop).
      for (const file of open.values()) release(file);
      open.clear();
      for (const temp of spooled) removeQuietly(temp);
      spooled.clear();
      void Promise.all([...releasing]).then(() => done());
    });
  }

  RED.nodes.registerType('esr-write', EsrWrite as never);
};
