/**
 * esr-read: an ESR file in (Buffer, string, stream, or a local path), records out: one message per record, per
 * person, per batch, or one for the whole file. Rejected lines go to the second output, the summary to the third.
 * Whether the file is sound is the codec's answer (summary.sound); a file that is not reaches Catch nodes through
 * done(err), its last message carries msg.reset, and in whole-file mode nothing is sent.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { builtInLayoutIds, currentAt, EsrReader, loadLayout, PersonGrouper, personIdOf, removeStaleSpills, type CompiledLayout, type EsrRecord, type OtherRecord, type PersonGroup, type Problem, type Rejected } from '../../core/codec';
import { evaluate, isReadable, type Node, type NodeAPI, type NodeMessage } from '../shared/node-red';
import { detectFor, exampleLayouts, fixedLayout, type LayoutConfig } from '../shared/layout-choice';
import { messagesFor } from '../shared/messages';
import { OwnStatus } from '../shared/status';
import { confinedPath, localBase } from '../shared/local-path';
import { isStreamMisuse, peekStream, STREAM_COPIED, takeStream } from '../shared/streams';
import { limitError, limitFor } from '../shared/limits';
import { noteFileFacts } from '../shared/audit';

interface ReadConfig extends LayoutConfig {
  name?: string;
  lenient: boolean;
  /** Read a file with no header as a fragment, where the layout allows it. */
  fragment?: boolean;
  input: 'payload' | 'path';
  mode: 'record' | 'person' | 'batch' | 'file';
  batchSize: number | string;
  grouping: 'blocks' | 'collect';
  date: string;
  dateType: string;
  filename: string;
  filenameType: string;
  /** The most records held for one file (whole-file mode, person mode's collect grouping); empty: settings or default. */
  maxRecords?: number | string;
}

/** Rows of people held in memory in person mode (collect) before they go to disk: about 40 MB of heap. */
const SPILL_AFTER = 20_000;

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Messages sent between two waits for Node-RED to deliver them: waiting a turn after every message cost a promise
 * and a timer per record; after this many, memory still holds at most this many undelivered messages of a read.
 */
const SENDS_PER_TURN = 64;

const problemsOut = (problems: Problem[]) => problems.map(({ line, recordType, field, code, scope, message }) => ({ line, recordType, field, code, scope, message }));

export = function register(RED: NodeAPI): void {
  const t = messagesFor(RED, 'esr-read');
  function EsrRead(this: Node, config: ReadConfig): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const own = new OwnStatus(node);
    // Person mode's temporary files: those a killed process left go when the node starts, not at the next spill.
    const spillDir = path.join(String(RED.settings.userDir ?? os.tmpdir()), 'esr-spill');
    if (config.mode === 'person') removeStaleSpills(spillDir);
    const base = localBase(RED); // where "file path" input may read
    let layout: CompiledLayout | undefined;
    let setupError: Error | undefined;
    try {
      layout = fixedLayout(config, t);
    } catch (err) {
      setupError = err as Error;
      node.status({ fill: 'red', shape: 'ring', text: t('status.layoutError') });
      node.error(setupError);
    }

    node.on('input', (msg, send, done) => {
      run(msg, send).then(
        () => done(),
        (err) => {
          // A stream that fails before (or while) it is read is ended, so that its download is handed back at once
          // rather than held until the transport's reader timeout (a copy is never touched: takeStream ended its original).
          if (isReadable(msg.payload) && !msg.payload.destroyed && !isStreamMisuse(err)) msg.payload.destroy();
          own.fail(err, t('status.failed')); // red with the code until a file is read
          done(err);
        },
      );
    });

    async function run(msg: NodeMessage, send: (m: (NodeMessage | null)[]) => void): Promise<void> {
      if (setupError) throw setupError;
      if (config.input !== 'path' && isReadable(msg.payload)) {
        // A copy of a stream (a message sent down two wires) or one already read fails now, not at a timeout.
        const file = typeof msg.filename === 'string' && msg.filename ? msg.filename : t('errors.theFile');
        takeStream(msg.payload, (code) => t(code === STREAM_COPIED ? 'errors.streamCopied' : 'errors.streamUsed', { file }));
      }
      const dateValue = await evaluate(RED, node, config.date || '', config.dateType || 'str', msg);
      let date = new Date().toISOString().slice(0, 10);
      if (config.mode === 'person' && dateValue !== undefined && dateValue !== null && dateValue !== '') {
        // A wrong "current at" date would silently pick the wrong rows: it is an error, not "today".
        if (typeof dateValue !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(dateValue) || Number.isNaN(Date.parse(dateValue))) {
          throw new Error(t('errors.badDate'));
        }
        date = dateValue;
      }
      const named = await evaluate(RED, node, config.filename || 'filename', config.filenameType || 'msg', msg);
      let fileName = typeof named === 'string' && named ? named : undefined;
      let source: Readable;
      let size: number | undefined;
      let head: Buffer | undefined;
      const payload = msg.payload;
      if (config.input === 'path') {
        if (typeof payload !== 'string' || !payload) throw new Error(t('errors.notAPath'));
        // Only inside the base folder (esrLocalBase in settings.js, else the user directory); a missing file fails
        // here, before any stream exists.
        const file = await confinedPath(base, payload, (named) => t('errors.outsideBase', { file: named, base }));
        size = (await fs.promises.stat(file)).size;
        source = fs.createReadStream(file);
        source.on('error', () => undefined); // reported by the pipeline below, or the stream is destroyed on an early error
        fileName ??= path.basename(payload);
        if (!layout) {
          const fd = fs.openSync(file, 'r');
          head = Buffer.alloc(64 * 1024);
          head = head.subarray(0, fs.readSync(fd, head, 0, head.length, 0));
          fs.closeSync(fd);
        }
      } else if (Buffer.isBuffer(payload)) {
        source = Readable.from([payload]);
        size = payload.length;
        head = payload;
      } else if (typeof payload === 'string') {
        const buf = Buffer.from(payload, layout?.spec.encoding === 'utf8' ? 'utf8' : 'latin1');
        source = Readable.from([buf]);
        size = buf.length;
        head = buf;
      } else if (isReadable(payload)) {
        const sftp = msg.sftp as { size?: number } | undefined;
        size = typeof sftp?.size === 'number' ? sftp.size : undefined;
        source = payload;
        // Detection may need the first line: the first chunk is looked at and left in the stream, which is then read
        // itself (a wrapper would not end the download when the read fails, and held the download up: issue 14).
        if (!layout) head = await peekStream(payload);
      } else throw new Error(t('errors.badPayload'));

      let fileLayout: CompiledLayout;
      try {
        fileLayout = layout ?? detectFor(fileName, head, t);
      } catch (err) {
        source.destroy(); // never leave a file handle or a download open
        throw err;
      }
      const reader = new EsrReader(fileLayout, { fileName, lenient: config.lenient === true, fragment: config.fragment === true });
      const partsId = randomUUID();
      const facts = () => ({ ...reader.file, layout: fileLayout.id });
      // Once the file is known not to be sound (a byte order mark, no header, a cut ...), nothing more of it is sent:
      // what was sent before ends with msg.reset.
      let unsound = false;
      reader.on('problem', (p: Problem) => {
        if (p.scope === 'file' && p.severity === 'error') unsound = true;
      });
      const mode = config.mode || 'record';
      const batchSize = Math.max(1, Number(config.batchSize) || 1000);
      const maxHeld = limitFor(RED, 'heldRecords', config.maxRecords);
      const tooMany = () => limitError(t('errors.tooManyRecords', { file: fileName ?? reader.file.name ?? t('errors.theFile'), limit: maxHeld, line: reader.summary().lines }), 'TOO_MANY_RECORDS', maxHeld);
      let index = 0;
      let held: NodeMessage | undefined;
      let records = 0;
      let lastStatus = 0;

      // Batches and the whole file are arrays: `type: 'array'` with a `len` over 1 makes a core join (automatic) put
      // their records together into one array, as it does for a split array (len: the batch size or the file's record
      // count, at least 2).
      const arrayParts = (len: number) => (mode === 'batch' || mode === 'file' ? { type: 'array', len: Math.max(2, len) } : {});
      let sentThisTurn = 0;
      /** Sends the message held before and holds this one; resolves when it waited for delivery, else undefined. */
      const out = (payloadOut: unknown, topic: string): Promise<void> | undefined => {
        if (unsound) return undefined;
        // The new message is held before the previous one goes: a read that breaks off during the wait ends the
        // sequence with it (never with an empty message), and never sends the previous one again.
        const previous = held;
        held = { payload: payloadOut, topic, filename: fileName ?? reader.file.name, esr: facts(), parts: { id: partsId, index: index++, ...arrayParts(mode === 'batch' ? batchSize : Array.isArray(payloadOut) ? payloadOut.length : 0) } };
        // The claim travels with the records, so that the end of the flow (e.g. a join) can confirm the file.
        if (msg.esrClaim !== undefined) held.esrClaim = msg.esrClaim;
        if (previous) {
          send([previous, null, null]);
          // Now and then the messages sent are let be delivered before more are read: memory stays flat.
          if (++sentThisTurn >= SENDS_PER_TURN) {
            sentThisTurn = 0;
            return nextTurn();
          }
        }
        return undefined;
      };
      const progress = () => {
        const now = Date.now();
        if (now - lastStatus < 500) return;
        lastStatus = now;
        const text = size
          ? t('status.progressPercent', { count: records, percent: Math.min(100, Math.floor((reader.bytesRead / size) * 100)) })
          : t('status.progress', { count: records });
        own.show({ fill: 'blue', shape: 'dot', text });
      };
      // Person mode: a person with a rejected row (e.g. a bad date of birth on PRA) is incomplete, so the whole
      // person goes to the rejected output instead of the records output. Rows are held here until their person.
      const rejectedPeople = new Map<string, Rejected[]>();
      const rejectOut = (payloadOut: unknown, topic: string, line: number, problems: Problem[]) => {
        send([null, { payload: payloadOut, topic, filename: fileName ?? reader.file.name, esr: facts(), line, problems: problemsOut(problems) }, null]);
      };
      const rejectPerson = (personId: string, records: EsrRecord[]) => {
        const rows = rejectedPeople.get(personId)!;
        rejectedPeople.delete(personId);
        const problems = rows.flatMap((r) => r.problems);
        rejectOut({ personId, records, rejected: rows.map((r) => ({ line: r.line, recordType: r.recordType, record: r.record })) }, 'person', rows[0].line, problems);
      };
      reader.on('reject', (r: Rejected) => {
        if (unsound) return;
        const personId = mode === 'person' ? personIdOf(fileLayout, r.record) : undefined;
        if (personId === undefined) return rejectOut(r.record, r.recordType, r.line, r.problems);
        const rows = rejectedPeople.get(personId);
        if (rows) rows.push(r);
        else rejectedPeople.set(personId, [r]);
      });

      // The record type holding the person's own rows (PRA), shown as `person` in person mode.
      const personType = fileLayout.recordTypes.find((rt) => rt.idField && rt.idField === rt.personField)?.code ?? 'PRA';
      let batch: EsrRecord[] = [];
      const all: EsrRecord[] = [];
      // A polled file (it carries its claim): its SHA-256 and its header's timestamps, for esr-sftp-in's audit trail.
      const claimToken = typeof (msg.esrClaim as { token?: unknown } | undefined)?.token === 'string' ? (msg.esrClaim as { token: string }).token : undefined;
      const hash = claimToken ? createHash('sha256') : undefined;
      const headerTimes: Record<string, string> = {};
      const noteHeader = (r: EsrRecord) => {
        if (!claimToken || !fileLayout.header || r.recordType !== fileLayout.header.code) return;
        for (const f of fileLayout.header.fields) if (f.kind === 'timestamp' && typeof r[f.key] === 'string') headerTimes[f.key] = r[f.key] as string;
      };
      const tap = new Transform({
        transform(chunk: Buffer | string, _enc, cb) {
          hash?.update(chunk);
          cb(null, chunk);
        },
      });

      const consume = new Writable({
        objectMode: true,
        write: (item: EsrRecord | PersonGroup | OtherRecord, _enc, cb) => {
          if (records === 0) noteHeader((item as OtherRecord).type === 'record' ? (item as OtherRecord).record : (item as EsrRecord));
          records++;
          if ((records & 255) === 1) progress(); // the clock is looked at now and then, not per record
          let step: Promise<void> | undefined;
          if (mode === 'person') {
            const x = item as PersonGroup | OtherRecord;
            if (x.type === 'person' && rejectedPeople.has(x.personId)) rejectPerson(x.personId, x.records);
            else if (x.type === 'person') {
              const view = currentAt(fileLayout, x, date);
              const { [personType]: people, ...others } = view.current;
              step = out({ personId: view.personId, deleted: view.deleted, person: people?.[people.length - 1] ?? null, records: others }, 'person');
            } else step = out(x.record, x.record.recordType);
          } else if (mode === 'batch') {
            batch.push(item as EsrRecord);
            if (batch.length >= batchSize) {
              const full = batch;
              batch = [];
              step = out(full, 'batch');
            }
          } else if (mode === 'file') {
            if (all.length >= maxHeld) {
              all.length = 0;
              return cb(tooMany());
            }
            all.push(item as EsrRecord);
          }
          else step = out(item, (item as EsrRecord).recordType);
          if (step) step.then(() => cb(), cb);
          else cb();
        },
      });
      try {
        // Rows that may be anywhere (collect) go to temporary files under the user directory past a bound, so that a
        // national-size GDW file is grouped in bounded memory (see core/codec/spill.ts).
        const spill = { dir: spillDir, afterRecords: Math.min(maxHeld, SPILL_AFTER) };
        // The hashing tap only for a polled file (one that carries its claim): other reads go straight to the reader.
        const input = hash ? [source, tap] : [source];
        if (mode === 'person') await pipeline([...input, reader, new PersonGrouper(fileLayout, { mode: config.grouping || 'blocks', maxRecords: maxHeld, spill }), consume]);
        else await pipeline([...input, reader, consume]);
      } catch (caught) {
        // A bound passed (here or in the grouper) is told with the file and the line the read stopped at.
        const err = (caught as { code?: string }).code === 'TOO_MANY_RECORDS' ? tooMany() : caught;
        // The read broke off (e.g. a download failed): end the sequence with msg.reset, so that nothing downstream
        // holds on to it or completes it.
        // The last message is always held back until here (never an empty one to end the sequence with).
        if (held) send([{ ...held, parts: { ...(held.parts as object), count: index }, reset: true }, null, null]);
        throw err;
      }
      // The reader has finished: its summary is final. People all of whose rows were rejected go out now.
      for (const personId of [...rejectedPeople.keys()]) rejectPerson(personId, []);
      const summary = reader.summary();
      const { sound, fileErrors } = summary;
      if (claimToken) {
        const problems: Record<string, number> = {};
        for (const p of [...summary.errors, ...summary.warnings]) problems[p.code] = (problems[p.code] ?? 0) + 1;
        noteFileFacts(claimToken, { sha256: hash!.digest('hex'), layout: fileLayout.id, sound, lines: summary.lines, records: summary.records, errorCount: summary.errorCount, warningCount: summary.warningCount, problems, header: headerTimes });
      }
      if (mode === 'batch' && batch.length) await out(batch, 'batch');
      // The whole file goes on only if the file as a whole is sound (records already sent cannot be taken back).
      if (mode === 'file' && sound) await out(all, 'file');
      if (held) {
        (held.parts as { count?: number }).count = index;
        // A failed file must not be completed downstream: msg.reset makes a join drop the parts it holds (and
        // esr-write the file it is building) instead of sending a file that is only partly there.
        if (!sound) held.reset = true;
        send([held, null, null]);
      }
      // The summary carries the input message, so that it can confirm the file to esr-sftp-in; a file that failed
      // must not be confirmed, so then it goes without the claim (the error, with it, goes to Catch nodes).
      const { payload: _p, parts: _parts, ...original } = msg;
      if (!sound) delete original.esrClaim;
      send([null, null, { ...original, payload: summary, topic: 'summary', filename: fileName ?? summary.file.name, esr: facts() }]);
      if (sound) {
        const text = summary.errorCount ? t('status.doneWithErrors', { records: t('status.done', { count: records }), errors: t('status.errorCount', { count: summary.errorCount }) }) : t('status.done', { count: records });
        own.succeed({ fill: summary.errorCount ? 'yellow' : 'green', shape: 'dot', text });
      } else {
        const more = summary.fileErrorCount - 1;
        const err = new Error(more > 0 ? t('errors.fileFailedMore', { message: fileErrors[0].message, more }) : t('errors.fileFailed', { message: fileErrors[0].message }));
        Object.assign(err, { code: fileErrors[0].code, problems: problemsOut(fileErrors.slice(0, 20)) });
        throw err;
      }
    }
  }

  RED.nodes.registerType('esr-read', EsrRead as never);

  // The built-in layouts, for the layout choice in the esr-read and esr-write dialogs.
  RED.httpAdmin.get('/esr/layouts', RED.auth.needsPermission('esr-read.read'), (_req, res) => {
    res.json(builtInLayoutIds().map((id) => ({ id, title: loadLayout(id).spec.title, direction: loadLayout(id).spec.direction })));
  });
  // The example trust layout files (the pack's layouts/ folder), offered for the layout-file field.
  RED.httpAdmin.get('/esr/layouts/examples', RED.auth.needsPermission('esr-read.read'), (_req, res) => {
    res.json(exampleLayouts());
  });
};
