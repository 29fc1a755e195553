/**
 * esr-map: maps msg.payload (a record, or an array of records) with a table of rules "target <- template".
 * Rules and lookups are compiled and checked at deploy; "Try it" in the dialog renders them against a sample.
 */
import { compileMapping, type Mapper } from '../../core/mapping';
import { mappingOptions, type MapConfig } from './map-options';
import type { Node, NodeAPI } from '../shared/node-red';
import { messagesFor } from '../shared/messages';
import { OwnStatus } from '../shared/status';
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
      mapper = compileMapping(mappingOptions(config, t));
    } catch (err) {
      setupError = err as Error;
      node.status({ fill: 'red', shape: 'ring', text: t('status.rulesInvalid') });
      node.error(setupError);
    }

    node.on('input', (msg, send, done) => {
      try {
        if (!mapper) throw setupError ?? new Error(t('errors.noRules'));
        if (msg.reset !== undefined) {
          send({ ...msg, payload: null }); // the end of a failed file (esr-read): a join or esr-write downstream drops it
          return done();
        }
        const payload = msg.payload;
        if (payload === null && msg.parts) {
          send(msg); // the end of a sequence whose last record an earlier filter removed
          return done();
        }
        if (Array.isArray(payload)) {
          const out = payload
            .map((r, i) => {
              try {
                return mapper!.map(r as Record<string, unknown>, msg);
              } catch (err) {
                const recordType = knownRecordType(msg, (r as { recordType?: unknown } | null)?.recordType);
                const item = recordType ? t('errors.itemOfType', { index: i + 1, recordType }) : t('errors.item', { index: i + 1 });
                (err as Error).message = `${item}: ${(err as Error).message}`;
                throw err;
              }
            })
            .filter((r) => r !== undefined);
          send({ ...msg, payload: out });
        } else if (typeof payload === 'object' && payload !== null) {
          const out = mapper.map(payload as Record<string, unknown>, msg);
          const parts = msg.parts as { count?: number } | undefined;
          if (out !== undefined) send({ ...msg, payload: out });
          // The last message of a sequence goes on even when filtered out (empty), so that the sequence still ends.
          else if (typeof parts?.count === 'number') send({ ...msg, payload: null });
        } else throw new Error(t('errors.badPayload'));
        own.succeed();
        done();
      } catch (err) {
        // Where: the file and the record's place in it (never a value).
        const parts = msg.parts as { index?: number } | undefined;
        const esr = msg.esr as { name?: string } | undefined;
        const where = [msg.filename ?? esr?.name, parts?.index !== undefined ? t('errors.record', { index: parts.index + 1 }) : undefined, knownRecordType(msg, (msg.payload as { recordType?: unknown } | null)?.recordType)]
          .filter((x) => typeof x === 'string' || typeof x === 'number')
          .join(', ');
        const e = err as Error;
        if (where && e.name === 'MappingError') e.message = `${where}: ${e.message}`;
        if (mapper) own.fail(e, t('status.failed')); // red with the code until a record maps (rules invalid stays)
        done(e);
      }
    });
  }

  RED.nodes.registerType('esr-map', EsrMap as never);

  // "Try it" in the edit dialog: renders the dialog's rules against a pasted sample record. Its mapping (and the
  // templates it parsed) is dropped after the answer, and the answer is bounded (TRY_MAX_CHARS).
  RED.httpAdmin.post('/esr-map/try', RED.auth.needsPermission('esr-map.write'), (req, res) => {
    try {
      const body = req.body as unknown as MapConfig & { sample?: unknown };
      const sample = typeof body.sample === 'string' ? JSON.parse(body.sample) : body.sample;
      const mapper = compileMapping({ ...mappingOptions(body, t), maxOutputChars: TRY_MAX_CHARS });
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
