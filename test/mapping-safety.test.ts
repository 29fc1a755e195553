/**
 * The mapping engine's defences: spreadsheet-safe over every class of leading character a spreadsheet skips, lookup
 * files in the encodings trusts keep them in (errors with the line, never the value), and bounds on what a template
 * may cost (no global template cache, padding widths, output size).
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import Mustache from 'mustache';
import { compileMapping, lookupFromCsv, MappingError, spreadsheetSafe } from '../core/mapping';

/** Every code point of a Unicode general category (or property), as strings. */
function codePointsOf(re: RegExp): string[] {
  const out: string[] = [];
  for (let cp = 0; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const ch = String.fromCodePoint(cp);
    if (re.test(ch)) out.push(ch);
  }
  return out;
}

/** A small deterministic generator, so that a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const TRIGGERS = ['=', '+', '-', '@', '\uFF1D', '\uFF0B', '\uFF0D', '\uFF20', '\uFE66', '\uFE62', '\uFE63', '\uFE6B'];
const CLASSES: Record<string, string[]> = {
  'Cc (controls: NUL, LF, …)': codePointsOf(/^\p{Cc}$/u),
  'Cf (format: BOM, zero-width space?, soft hyphen …)': codePointsOf(/^\p{Cf}$/u),
  'Zs (spaces: space, no-break space …)': codePointsOf(/^\p{Zs}$/u),
  'Zl (line separator)': codePointsOf(/^\p{Zl}$/u),
  'Zp (paragraph separator)': codePointsOf(/^\p{Zp}$/u),
  'invisible (zero-width space, word joiner, BOM …)': ['\u200B', '\u2060', '\uFEFF', '\u200C', '\u200D', '\u00AD', '\u034F', '\u3164'],
};

describe('spreadsheet-safe', () => {
  it('neutralises a formula after any leading run of controls, format characters and spaces (each class)', () => {
    const random = rng(12);
    for (const [name, chars] of Object.entries(CLASSES)) {
      assert.ok(chars.length > 0, name);
      // Every character of the class once, then random runs of one to three of them.
      const runs = [...chars.map((c) => c), ...Array.from({ length: 200 }, () => Array.from({ length: 1 + Math.floor(random() * 3) }, () => chars[Math.floor(random() * chars.length)]).join(''))];
      for (const run of runs) {
        for (const trigger of TRIGGERS) {
          const value = `${run}${trigger}HYPERLINK("http://x")`;
          const safe = spreadsheetSafe(value);
          assert.equal(safe, `'${value}`, `${name}: U+${[...run].map((c) => c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')).join(' U+')} then ${trigger}`);
        }
      }
    }
  });

  it('neutralises the full-width and small forms of = + - @ on their own', () => {
    for (const trigger of TRIGGERS) assert.equal(spreadsheetSafe(`${trigger}1+1`), `'${trigger}1+1`);
  });

  it('leaves text alone that no spreadsheet would run, and numbers exact', () => {
    for (const v of ['plain', ' hello', '\u00A0Smith', '\u200Bname', 'a=b', 'O\u2019Brien', '', '12', '-12.50', '+3', '.5', 'x-1']) assert.equal(spreadsheetSafe(v), v);
    assert.equal(spreadsheetSafe('\tx'), "'\tx"); // tab and CR lead a formula on their own (OWASP)
    assert.equal(spreadsheetSafe('\rx'), "'\rx");
  });

  it('is what the mapping applies when asked', () => {
    const m = compileMapping({ spreadsheetSafe: true, rules: [{ target: 'a', template: '{{a}}' }] });
    assert.deepEqual(m.map({ a: '\u200B=cmd|x' }), { a: "'\u200B=cmd|x" });
    assert.deepEqual(m.map({ a: '\uFF1DSUM(A1)' }), { a: "'\uFF1DSUM(A1)" });
  });
});

describe('lookups from CSV files', () => {
  const win1252 = Buffer.from([...Buffer.from('code,name\nB5,'), 0x4d, 0xfc, 0x6c, 0x6c, 0x65, 0x72, 0x0a, ...Buffer.from('B6,'), 0x93, 0x51, 0x94, 0x0a]); // Müller, “Q”

  it('reads Windows-1252 and ISO-8859-1 files when told, and UTF-8 by default', () => {
    const t = lookupFromCsv('grades', win1252, { header: true, encoding: 'windows-1252' });
    assert.deepEqual(t.entries, { B5: 'Müller', B6: '\u201CQ\u201D' });
    const latin1 = lookupFromCsv('grades', win1252, { header: true, encoding: 'iso-8859-1' });
    assert.equal(latin1.entries.B5, 'Müller');
    assert.equal(latin1.entries.B6, '\u0093Q\u0094');
    const utf8 = lookupFromCsv('grades', Buffer.from('code,name\nB5,Zoë\n', 'utf8'), { header: true });
    assert.deepEqual(utf8.entries, { B5: 'Zoë' });
  });

  it('refuses bytes that are not UTF-8 in a UTF-8 file, naming the file and the line but not the value', () => {
    assert.throws(
      () => lookupFromCsv('grades', win1252, { header: true, file: 'codes.csv' }),
      (err: MappingError & { code?: string }) =>
        err instanceof MappingError && /lookup "grades": codes\.csv line 2: not UTF-8/.test(err.message) && err.code === 'LOOKUP_NOT_UTF8' && /Windows-1252/.test(err.message) && !/M.ller|ller/.test(err.message),
    );
  });

  it('names the line of a CSV that does not parse, and the code, but not the value', () => {
    const text = 'code,name\nB5,XR05\n\nB6,"Secret, unclosed\nB7,XR07\n';
    assert.throws(
      () => lookupFromCsv('grades', text, { header: true, file: 'codes.csv' }),
      (err: MappingError & { code?: string }) => /lookup "grades": codes\.csv line 4: the CSV does not parse \[CSV_QUOTE_NOT_CLOSED\]/.test(err.message) && err.code === 'CSV_QUOTE_NOT_CLOSED' && !err.message.includes('Secret'),
    );
    const stray = 'code,name\nB5,XR"05\n';
    assert.throws(() => lookupFromCsv('grades', stray, { file: 'codes.csv' }), /codes\.csv line 2: the CSV does not parse \[CSV_INVALID_QUOTE|codes\.csv line 2: the CSV does not parse \[INVALID_OPENING_QUOTE/);
  });

  it('names the file line of a row with one column, counting empty lines', () => {
    assert.throws(() => lookupFromCsv('grades', 'code,name\n\nB5,XR05\n\nSecretOnly\n', { header: true, file: 'codes.csv' }), (err: MappingError) => /codes\.csv line 5: needs two columns/.test(err.message) && !err.message.includes('SecretOnly'));
  });
});

describe('bounds on templates', () => {
  it('keeps no template in mustache\'s global cache (Try it compiles what the dialog sends)', () => {
    Mustache.clearCache();
    const template = `{{a}}${'x'.repeat(1000)}${Math.random()}`;
    const m = compileMapping({ rules: [{ target: 'a', template }], condition: `{{a}}${Math.random()}` });
    m.map({ a: '1' });
    const cache = (Mustache.templateCache as unknown as { _cache: Record<string, unknown> })._cache;
    assert.equal(Object.keys(cache).length, 0);
  });

  it('refuses a padding width above 1000 when the mapping is built', () => {
    for (const helper of ['padLeft', 'padRight', 'zeroPad']) {
      assert.throws(() => compileMapping({ rules: [{ target: 'a', template: `{{#${helper}.20000000}}{{a}}{{/${helper}.20000000}}` }] }), (err: MappingError) => err instanceof MappingError && err.rule === 1 && new RegExp(`\\{\\{#${helper}\\.N\\}\\} pads to at most 1000`).test(err.message));
    }
    assert.deepEqual(compileMapping({ rules: [{ target: 'a', template: '{{#padLeft.1000}}x{{/padLeft.1000}}' }] }).map({})!.a, 'x'.padStart(1000));
  });

  it('stops a render that grows past its output limit, with a clear error', () => {
    const items = Array.from({ length: 1000 }, () => ({ v: 'y' }));
    const m = compileMapping({ maxOutputChars: 100_000, rules: [{ target: 'a', template: '{{#items}}{{#items}}{{#padLeft.100}}{{v}}{{/padLeft.100}}{{/items}}{{/items}}' }] });
    const started = Date.now();
    assert.throws(() => m.map({ items }), (err: MappingError & { code?: string }) => err instanceof MappingError && err.code === 'OUTPUT_TOO_LARGE' && /larger than 100000 characters/.test(err.message));
    assert.ok(Date.now() - started < 2000);
    assert.deepEqual(compileMapping({ maxOutputChars: 10, rules: [{ target: 'a', template: '{{v}}' }] }).map({ v: '12345' }), { a: '12345' });
  });
});
