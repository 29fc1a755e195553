/**
 * esr-map: maps msg.payload (a record, or an array of records) with a table of rules "target <- template".
 * Rules and lookups are compiled and checked at deploy; "Try it" in the dialog renders them against a sample.
 */
import { compileMapping, type Mapper } from '../../core/mapping';
import { mappingOptions, type MapConfig } from './map-options';
import type { Node, NodeAPI, NodeMessage } from '../shared/node-red';
import { KeptSequences, partsOf } from '../shared/kept-sequence';
import { messagesFor } from '../shared/messages';
import { OwnStatus } from '../shared/status';
import { limitFor } from '../shared/limits';
import { knownRecordType } from '../shared/record-type';

/** The largest answer "Try it" gives (characters of JSON): a dialog shows a few records, not megabytes. */
const TRY_MAX_CHARS = 1_000_000;

export = function register(RED: NodeAPI): void {
  const t = messagesFor(RED, 'esr-map');
  function EsrMap(this: Node, config: MapConfig): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const own = new OwnStatus(node); // per record: it reaches Node-RED at most a few times a second
    let mapper: Mapper | undefined;
    let setupError: Error | undefined;
    try {
      mapper = compileMapping(mappingOptions(config, t, limitFor(RED, 'lookupBytes')));
    } catch (err) {
      setupError = err as Error;
      node.status({ fill: 'red', shape: 'ring', text: t('status.rulesInvalid') });
      node.error(setupError);
    }

    // Sequences (msg.parts) stay whole when records are filtered out: see KeptSequences.
    const sequences = new KeptSequences();
    const fileOf = (msg: NodeMessage): string | undefined => {
      const name = msg.filename ?? (msg.esr as { name?: unknown } | undefined)?.name;
      return typeof name === 'string' && name ? name : undefined;
    };

    /** msg mapped (undefined when filtered out); in a sequence, an empty or missing payload is filtered out too. */
    const mapMessage = (msg: NodeMessage, inSequence: boolean): NodeMessage | undefined => {
      const payload = msg.payload;
      if (inSequence && (payload === null || payload === undefined)) return undefined; // an end an older version sent
      // The message itself goes on with its payload mapped (as Node-RED's nodes do), not a copy per record.
      if (Array.isArray(payload)) {
        const out: Record<string, unknown>[] = [];
        for (let i = 0; i < payload.length; i++) {
          const r = payload[i] as Record<string, unknown>;
          let mapped: Record<string, unknown> | undefined;
          try {
            mapped = mapper!.map(r, msg);
          } catch (err) {
            const recordType = knownRecordType(msg, (r as { recordType?: unknown } | null)?.recordType);
            const item = recordType ? t('errors.itemOfType', { index: i + 1, recordType }) : t('errors.item', { index: i + 1 });
            (err as Error).message = `${item}: ${(err as Error).message}`;
            throw err;
          }
          if (mapped !== undefined) out.push(mapped);
        }
        // A batch of a sequence with nothing left is dropped like a record; an array on its own goes on, even empty.
        if (inSequence && out.length === 0) return undefined;
        msg.payload = out;
        return msg;
      }
      if (typeof payload === 'object' && payload !== null) {
        const out = mapper!.map(payload as Record<string, unknown>, msg);
        if (out === undefined) return undefined;
        msg.payload = out;
        return msg;
      }
      throw new Error(t('errors.badPayload'));
    };

    node.on('input', (msg, send, done) => {
      const parts = partsOf(msg);
      try {
        if (!mapper) throw setupError ?? new Error(t('errors.noRules'));
        if (msg.reset !== undefined) {
          // The end of a failed file (esr-read): what was kept of it ends with msg.reset, so that a join drops it and
          // esr-write makes no file. A reset of no sequence (for a join's every group) goes on as it is.
          if (!parts) send(msg);
          else {
            let out: NodeMessage | undefined;
            try {
              out = mapMessage(msg, true);
            } catch {
              out = undefined; // the file is dropped anyway: its last record need not map
            }
            for (const m of sequences.abandon(msg, out, msg.reset)) send(m);
          }
          return done();
        }
        const out = sequences.abandoned(msg) ? undefined : mapMessage(msg, parts !== undefined);
        if (!parts) {
          if (out) send(out);
          own.succeed();
          return done();
        }
        const passed = sequences.pass(msg, out);
        for (const m of passed.send) send(m);
        if (passed.ended && !passed.ended.failed) {
          const file = fileOf(msg);
          const { kept, seen } = passed.ended;
          // Nothing kept: nothing is sent (there is no empty message to end a sequence with), and the status says so.
          if (kept === 0) own.succeed({ fill: 'yellow', shape: 'ring', text: file ? t('status.nothingKeptOf', { file }) : t('status.nothingKept') });
          else own.succeed({ fill: 'green', shape: 'dot', text: t('status.kept', { kept, seen }) });
        } else if (out !== undefined) {
          own.succeed();
        }
        done();
      } catch (err) {
        // A record that cannot be mapped fails its file: what went on of it ends with msg.reset (a join drops it,
        // esr-write makes no file) and the rest of the sequence is dropped.
        if (parts) for (const m of sequences.abandon(msg)) send(m);
        // Where: the file and the record's place in it (never a value).
        const esr = msg.esr as { name?: string } | undefined;
        const where = [msg.filename ?? esr?.name, parts ? t('errors.record', { index: parts.index + 1 }) : undefined, knownRecordType(msg, (msg.payload as { recordType?: unknown } | null)?.recordType)]
          .filter((x) => typeof x === 'string' || typeof x === 'number')
          .join(', ');
        const e = err as Error;
        if (where && e.name === 'MappingError') e.message = `${where}: ${e.message}`;
        if (mapper) own.fail(e, t('status.failed')); // red with the code until a record maps (rules invalid stays)
        done(e);
      }
    });

    node.on('close', (_removed, done) => {
      sequences.clear();
      done();
    });
  }

  RED.nodes.registerType('esr-map', EsrMap as never);

  // "Try it" in the edit dialog: renders the dialog's rules against a pasted sample record. Its mapping (and the
  // templates it parsed) is dropped after the answer, and the answer is bounded (TRY_MAX_CHARS).
  RED.httpAdmin.post('/esr-map/try', RED.auth.needsPermission('esr-map.write'), (req, res) => {
    try {
      const body = req.body as unknown as MapConfig & { sample?: unknown };
      const sample = typeof body.sample === 'string' ? JSON.parse(body.sample) : body.sample;
      const mapper = compileMapping({ ...mappingOptions(body, t, limitFor(RED, 'lookupBytes')), maxOutputChars: TRY_MAX_CHARS });
      const records = Array.isArray(sample) ? sample : [sample];
      let size = 0;
      const result = records.map((r) => {
        const out = mapper.map(r as Record<string, unknown>, { payload: r }) ?? null;
        size += JSON.stringify(out).length;
        if (size > TRY_MAX_CHARS) throw Object.assign(new Error(t('errors.tryTooLarge', { limit: TRY_MAX_CHARS })), { code: 'OUTPUT_TOO_LARGE' });
        return out;
      });
      res.json({ ok: true, result });
    } catch (err) {
      const e = err as Error & { code?: string };
      res.json({ ok: false, error: e.message, ...(e.code ? { code: e.code } : {}) });
    }
  });
};
