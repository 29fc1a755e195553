/** Property test: random valid records -> write -> read gives the same records, for every built-in layout. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { builtInLayoutIds, loadLayout, type CompiledField, type CompiledLayout, type CompiledRecordType, type EsrRecord } from '../core/codec';
import { read, rng, write } from './helpers';

const TEXT_CHARS = 'abcXYZ019 .,-\'"|/&()';
const LATIN1_EXTRA = 'éüßÉñ£';

function randomValue(f: CompiledField, layout: CompiledLayout, r: () => number): unknown {
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const date = () => `${1950 + Math.floor(r() * 80)}-${pad(1 + Math.floor(r() * 12))}-${pad(1 + Math.floor(r() * 28))}`;
  switch (f.kind) {
    case 'date':
      return r() < 0.05 ? null : date();
    case 'timestamp':
      if (r() < 0.05) return null;
      if (f.allowDateOnly && r() < 0.3) return date();
      return `${date()}T${pad(Math.floor(r() * 24))}:${pad(Math.floor(r() * 60))}:${pad(Math.floor(r() * 60))}`;
    case 'time':
      return `${pad(Math.floor(r() * 24))}:${pad(Math.floor(r() * 60))}`;
    case 'number':
      return String(Math.floor(r() * 100000) / (r() < 0.5 ? 1 : 100));
    default: {
      let chars = TEXT_CHARS + (layout.spec.encoding === 'ascii' ? '' : LATIN1_EXTRA);
      chars = [...chars].filter((c) => c !== layout.spec.delimiter && !(f.quoted && c === '"')).join('');
      const len = 1 + Math.floor(r() * 12);
      let s = '';
      for (let i = 0; i < len; i++) s += chars[Math.floor(r() * chars.length)];
      // A bare value in a quoted layout must not start with a quote.
      return layout.spec.quoting === 'fields' && !f.quoted && s.startsWith('"') ? 'x' + s : s;
    }
  }
}

function randomRecord(rt: CompiledRecordType, layout: CompiledLayout, r: () => number): EsrRecord {
  const rec: EsrRecord = { recordType: rt.code };
  if (rt.opaque) {
    rec.values = Array.from({ length: rt.defaultCount - 1 }, () => (r() < 0.5 ? '' : 'v' + Math.floor(r() * 100)));
    return rec;
  }
  for (const f of rt.fields) {
    if (f.required || r() < 0.4) rec[f.key] = randomValue(f, layout, r);
  }
  return rec;
}

/** A real file name for each layout, so that strict reading has nothing to complain about. */
const NAMES: Record<string, string> = {
  'go-gdw': 'GO_123_GDW_GOF_20261120_00000001.DAT',
  'go-exp': 'GO_123_EXP_GOC_20261120_00000002.DAT',
  'exp-v1': 'GO_123_ASG_20261120_Full_00000003.DAT',
  ta: 'TA_123_SEL_MN2708_00000004.DAT',
  gdr: 'GO_123_GDW_GDR_20261120_00000001.DAT',
};

describe('property: write then read gives the records back', () => {
  for (const id of builtInLayoutIds()) {
    it(id, async () => {
      const layout = loadLayout(id);
      const r = rng(id.length * 7919);
      for (let round = 0; round < 40; round++) {
        const records: EsrRecord[] = [];
        if (layout.header) {
          const h = randomRecord(layout.header, layout, r);
          if (layout.header.fileNameField) h[layout.header.fileNameField] = NAMES[id];
          records.push(h);
        }
        const types = layout.recordTypes;
        for (let i = 0; types.length && i < 1 + Math.floor(r() * 20); i++) {
          const rt = types[Math.floor(r() * types.length)];
          if (rt.deleteCode && r() < 0.2) records.push({ recordType: rt.deleteCode, [rt.idField!]: 'D' + Math.floor(r() * 1e6) });
          else records.push(randomRecord(rt, layout, r));
        }
        const bytes = await write(id, records);
        const back = await read(id, bytes, { fileName: NAMES[id] });
        assert.deepEqual(back.summary.errors, [], `round ${round}: strict reading, trailer count included`);
        assert.deepEqual(back.summary.warnings, [], `round ${round}`);
        // What the reader gives back: empty values left out, defaults filled in for required fields.
        const expected = records.map((rec) => {
          const out = Object.fromEntries(Object.entries(rec).filter(([, v]) => v !== undefined && v !== ''));
          for (const f of layout.byCode.get(rec.recordType)?.fields ?? []) if (out[f.key] === undefined && f.default && f.required) out[f.key] = f.default;
          return out;
        });
        // _fieldCount marks a non-default variant; the writer chose it from the values given.
        const got = back.records.filter((rec) => rec.recordType !== layout.trailer?.code).map(({ _fieldCount, ...rec }) => rec);
        assert.deepEqual(got, expected, `round ${round}`);
        assert.ok((await write(id, back.records)).equals(bytes), `round ${round}: same bytes again`);
      }
    });
  }
});
