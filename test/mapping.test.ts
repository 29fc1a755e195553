/** The mapping engine: templates without HTML escaping, helpers, lookups, filters, checks at build time. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import Mustache from 'mustache';
import { compileMapping, lookupFromCsv, lookupFromLines, MappingError } from '../core/mapping';

const person = { recordType: 'PRA', personId: '1001', lastName: "O'Brien & Sons <Ltd>", firstName: ' Zoë ', dateOfBirth: '1986-08-01', employeeNumber: '42' };

describe('mapping', () => {
  it('renders without HTML escaping and builds nested targets', () => {
    const m = compileMapping({ rules: [{ target: 'name.last', template: '{{lastName}}' }, { target: 'id', template: 'E{{employeeNumber}}' }] });
    assert.deepEqual(m.map(person), { name: { last: "O'Brien & Sons <Ltd>" }, id: 'E42' });
  });

  it('offers date, text and padding helpers', () => {
    const m = compileMapping({
      rules: [
        { target: 'first', template: '{{#upper}}{{#trim}}{{firstName}}{{/trim}}{{/upper}}' },
        { target: 'dob', template: '{{#isoToYmd}}{{dateOfBirth}}{{/isoToYmd}}' },
        { target: 'dobUk', template: '{{#isoToDmy}}{{dateOfBirth}}{{/isoToDmy}}' },
        { target: 'dobTa', template: '{{#isoToDdMmmYyyy}}{{dateOfBirth}}{{/isoToDdMmmYyyy}}' },
        { target: 'back', template: '{{#dmyToIso}}01/08/1986{{/dmyToIso}} {{#ymdToIso}}19860801{{/ymdToIso}} {{#ddMmmYyyyToIso}}08-Jul-2009{{/ddMmmYyyyToIso}}' },
        { target: 'num', template: '{{#zeroPad.8}}{{employeeNumber}}{{/zeroPad.8}}' },
        { target: 'lower', template: '{{#lower}}ABC{{/lower}}|{{#padRight.4}}x{{/padRight.4}}|{{#truncate.3}}abcdef{{/truncate.3}}' },
      ],
    });
    assert.deepEqual(m.map(person), {
      first: 'ZOË', dob: '19860801', dobUk: '01/08/1986', dobTa: '01-Aug-1986', back: '1986-08-01 1986-08-01 2009-07-08', num: '00000042', lower: 'abc|x   |abc',
    });
  });

  it('looks values up in tables typed in or loaded from CSV, and names the table when an entry is missing', () => {
    const codes = lookupFromLines('absence', 'SICK=S12 Other musculoskeletal problems\nAL = Annual Leave');
    const csv = lookupFromCsv('grades', 'roster,esr\nB5,XR05\n"B6, senior",XR06\n', { header: true });
    const m = compileMapping({
      lookups: [codes, csv],
      rules: [
        { target: 'reason', template: '{{#lookup.absence}}{{code}}{{/lookup.absence}}' },
        { target: 'grade', template: '{{#lookup.grades}}{{grade}}{{/lookup.grades}}' },
      ],
    });
    assert.deepEqual(m.map({ code: 'AL', grade: 'B6, senior' }), { reason: 'Annual Leave', grade: 'XR06' });
    assert.throws(() => m.map({ code: 'Zebedee', grade: 'B5' }), (err: MappingError) => err.rule === 1 && /lookup "absence" has no entry/.test(err.message) && !err.message.includes('Zebedee'));
    const withFallback = compileMapping({ lookups: [{ ...codes, fallback: 'Other' }], rules: [{ target: 'r', template: '{{#lookup.absence}}{{code}}{{/lookup.absence}}' }] });
    assert.deepEqual(withFallback.map({ code: 'XX' }), { r: 'Other' });
  });

  it('filters by record type and by a condition', () => {
    const m = compileMapping({ recordTypes: ['PRA'], condition: '{{employeeNumber}}', rules: [{ target: 'n', template: '{{employeeNumber}}' }] });
    assert.deepEqual(m.map(person), { n: '42' });
    assert.equal(m.map({ ...person, recordType: 'ASA' }), undefined);
    assert.equal(m.map({ ...person, employeeNumber: '' }), undefined);
  });

  it('keeps an empty value empty through every helper', () => {
    const m = compileMapping({ rules: [{ target: 'n', template: '{{#zeroPad.8}}{{missing}}{{/zeroPad.8}}' }, { target: 'd', template: '{{#isoToYmd}}{{missing}}{{/isoToYmd}}' }] });
    assert.deepEqual(m.map({}), {});
  });

  it('reaches msg and leaves empty values out (or keeps them when asked)', () => {
    const rules = [{ target: 'topic', template: '{{msg.topic}}' }, { target: 'middle', template: '{{middleNames}}' }];
    assert.deepEqual(compileMapping({ rules }).map(person, { topic: 't' }), { topic: 't' });
    assert.deepEqual(compileMapping({ rules, keepEmpty: true }).map(person, { topic: 't' }), { topic: 't', middle: '' });
  });

  it('makes CSV output spreadsheet-safe while numbers stay exact', () => {
    const m = compileMapping({ spreadsheetSafe: true, rules: [{ target: 'a', template: '{{a}}' }, { target: 'b', template: '{{b}}' }, { target: 'c', template: '{{c}}' }, { target: 'd', template: '{{d}}' }] });
    assert.deepEqual(m.map({ a: '=HYPERLINK("x")', b: '-12.50', c: '@SUM(A1)', d: '+44 7700 900123' }), { a: `'=HYPERLINK("x")`, b: '-12.50', c: "'@SUM(A1)", d: "'+44 7700 900123" });
    assert.deepEqual(m.map({ a: '\tx', b: '\rx', c: '-', d: 'plain' }), { a: "'\tx", b: "'\rx", c: "'-", d: 'plain' });
  });

  it('accepts field keys that start with a digit, as layouts make them (3rd Party System Reference)', () => {
    const m = compileMapping({ rules: [{ target: '3rdPartySystemReference', template: '{{id}}' }, { target: 'a.2nd', template: '{{id}}' }] });
    assert.deepEqual(m.map({ id: 'R1' }), { '3rdPartySystemReference': 'R1', a: { '2nd': 'R1' } });
  });

  it('checks templates, targets and lookups when it is built', () => {
    assert.throws(() => compileMapping({ rules: [{ target: 'a', template: '{{#upper}}x' }] }), /rule 1 \(a\): the template does not parse/);
    assert.throws(() => compileMapping({ rules: [{ target: 'a', template: '{{#lookup.nope}}x{{/lookup.nope}}' }] }), /rule 1 \(a\): lookup table "nope" is not defined/);
    assert.throws(() => compileMapping({ rules: [{ target: 'a b', template: 'x' }] }), /rule 1 \(a b\): the target must be a property name/);
    assert.throws(() => compileMapping({ rules: [{ target: 'a', template: '{{#zeroPad}}x{{/zeroPad}}' }] }), /needs a number/);
    assert.throws(() => compileMapping({ rules: [] }), /at least one rule/);
    assert.throws(() => compileMapping({ rules: [{ target: '__proto__.polluted', template: 'x' }] }), /must be a property name/);
    assert.throws(() => compileMapping({ rules: [{ target: 'a.constructor', template: 'x' }] }), /must be a property name/);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.throws(() => compileMapping({ rules: [{ target: 'a', template: '{{upper}}' }] }), /\{\{upper\}\} is a helper/);
    assert.throws(() => compileMapping({ rules: [{ target: 'a', template: '{{#isoToYMD}}{{d}}{{/isoToYMD}}' }] }), /did you mean \{\{#isoToYmd\}\}/);
    assert.throws(() => compileMapping({ rules: [{ target: 'a', template: 'x' }], condition: '{{#upper}}' }), /condition: the template does not parse/);
  });

  it('reports a helper given a value of the wrong form, naming the rule but not the value', () => {
    const m = compileMapping({ rules: [{ target: 'dob', template: '{{#isoToYmd}}{{dateOfBirth}}{{/isoToYmd}}' }] });
    assert.throws(() => m.map({ dateOfBirth: 'Zebedee' }), (err: MappingError) => err.rule === 1 && err.target === 'dob' && !err.message.includes('Zebedee'));
  });

  it('builds its helpers once, not per record: no Proxy or template parse per map(), and each record sees its own msg', () => {
    const m = compileMapping({
      lookups: [lookupFromLines('codes', 'A=Alpha\nB=Beta')],
      rules: [
        { target: 'n', template: '{{#zeroPad.6}}{{employeeNumber}}{{/zeroPad.6}}' },
        { target: 'last', template: '{{#upper}}{{lastName}}{{/upper}}' },
        { target: 'code', template: '{{#lookup.codes}}{{code}}{{/lookup.codes}}' },
        { target: 'topic', template: '{{msg.topic}}' },
      ],
    });
    const RealProxy = globalThis.Proxy;
    let proxies = 0;
    globalThis.Proxy = new RealProxy(RealProxy, { construct: (target, args) => (proxies++, Reflect.construct(target, args)) });
    const parse = Mustache.Writer.prototype.parse;
    let parses = 0;
    Mustache.Writer.prototype.parse = function (this: Mustache.Writer, ...args: Parameters<typeof parse>) {
      parses++;
      return parse.apply(this, args);
    };
    try {
      for (let i = 0; i < 200; i++) {
        const out = m.map({ ...person, employeeNumber: String(i), code: i % 2 ? 'A' : 'B' }, { topic: `t${i}` });
        assert.deepEqual(out, { n: String(i).padStart(6, '0'), last: "O'BRIEN & SONS <LTD>", code: i % 2 ? 'Alpha' : 'Beta', topic: `t${i}` });
      }
    } finally {
      globalThis.Proxy = RealProxy;
      Mustache.Writer.prototype.parse = parse;
    }
    assert.equal(proxies, 0, 'Proxies made while mapping');
    // The helpers' sections are parsed once each (the first record), never again.
    assert.ok(parses <= 3, `${parses} template parses for 200 records`);
  });
});
