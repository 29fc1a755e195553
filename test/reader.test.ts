/** Reader behaviour on the project's own hand-made files: one failing case per error code, and the details. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { EsrReader, loadLayout, type EsrRecord, type ProblemCode } from '../core/codec';
import { goFile, goLine, read } from './helpers';

const NAME = 'Zebedee'; // appears in the bad lines below; must never appear in a message
const PRA = (values: Record<number, string> = {}) => goLine('PRA', 44, { 2: '1001', 5: '2001', 7: NAME, 8: 'Ann', ...values });
const TA_HDR = 'HDR,TA_431_SEL_WN1701_00000048.DAT,20160427135134,SEL,431,W,N,01';
const taLine = (extra = '') => `ATT,20160427,ADD,,12345678,,"Business Miles NR NHS","Claimed Mileage",25${extra}${',' .repeat(40 - 9)}`;

interface Case {
  code: ProblemCode;
  layout?: string;
  text: string;
  lenient?: boolean;
  /** Read a file with no header as a fragment (the GO layouts allow it). */
  fragment?: boolean;
  fileName?: string;
  severity: 'error' | 'warning';
  line: number;
  recordType?: string;
  field?: string;
}

const CASES: Case[] = [
  { code: 'EMPTY_FILE', text: '', severity: 'error', line: 0 },
  { code: 'BLANK_LINE', text: goFile([PRA(), '', PRA({ 2: '1002' })]), severity: 'error', line: 3 },
  { code: 'BLANK_LINE', text: goFile([PRA(), '']), lenient: true, severity: 'warning', line: 3 },
  { code: 'INVALID_ENCODING', layout: 'ta', text: `${TA_HDR}\rATT,20160427,ADD,,1,,"M\xfcller"${','.repeat(33)}\rFTR,1,0`, severity: 'error', line: 2 },
  { code: 'MIXED_LINE_ENDINGS', text: goFile([PRA(), PRA({ 2: '1002' })]).replace('\n', '\r\n'), severity: 'error', line: 0 },
  { code: 'MIXED_LINE_ENDINGS', text: goFile([PRA(), PRA({ 2: '1002' })]).replace('\n', '\r\n'), lenient: true, severity: 'warning', line: 0 },
  { code: 'BYTE_ORDER_MARK', text: '\xef\xbb\xbf' + goFile([PRA()]), severity: 'error', line: 0 },
  { code: 'BYTE_ORDER_MARK', text: '\xef\xbb\xbf' + goFile([PRA()]), lenient: true, severity: 'warning', line: 0 },
  { code: 'BYTE_ORDER_MARK', layout: 'ta', text: `\xef\xbb\xbf${TA_HDR}\r${taLine()}\rFTR,1,0`, severity: 'error', line: 0 },
  { code: 'LAST_LINE_NOT_ENDED', text: goFile([PRA()]).slice(0, -1), severity: 'error', line: 3 },
  { code: 'LAST_LINE_NOT_ENDED', text: goFile([PRA()]).slice(0, -1), lenient: true, severity: 'warning', line: 3 },
  { code: 'LAST_LINE_NOT_ENDED', text: goFile([PRA()], '\r\n').slice(0, -1), lenient: true, severity: 'error', line: 3 },
  { code: 'LAST_LINE_NOT_ENDED', text: `${PRA()}\n${PRA({ 2: '1002' })}`, fragment: true, lenient: true, severity: 'error', line: 2 },
  { code: 'QUOTING_MISMATCH', layout: 'ta', text: `${TA_HDR}\rATT,20160427,ADD,,1,,Business Miles${','.repeat(33)}\rFTR,1,0`, severity: 'error', line: 2, recordType: 'ATT', field: 'Element Name' },
  { code: 'QUOTING_MISMATCH', layout: 'ta', text: `${TA_HDR}\rATT,20160427,ADD,,1,,"Bus ""${NAME}"" NHS"${','.repeat(33)}\rFTR,1,0`, severity: 'error', line: 2, recordType: 'ATT', field: 'Element Name' },
  { code: 'LINE_TOO_LONG', text: `${PRA()}\n${'x'.repeat(3 * 1024 * 1024)}\n${PRA({ 2: '1002' })}\n`, severity: 'error', line: 2 },
  { code: 'NO_HEADER', text: `${PRA()}\n`, severity: 'error', line: 0 },
  { code: 'NO_HEADER', text: `${PRA()}\n`, lenient: true, severity: 'error', line: 0 },
  { code: 'NO_HEADER', text: `<html><body>502 Bad Gateway</body></html>\n`, severity: 'error', line: 0 },
  { code: 'NO_HEADER', text: `${PRA()}\n`, fragment: true, severity: 'warning', line: 0 },
  { code: 'NO_HEADER', layout: 'ta', text: `${taLine()}\rFTR,1,0`, fragment: true, severity: 'error', line: 0 },
  { code: 'HEADER_INVALID', text: `HDR~x~y\n${PRA()}\n`, severity: 'error', line: 1, recordType: 'HDR' },
  { code: 'HEADER_INVALID', text: `HDR~x~y\n${PRA()}\n`, lenient: true, severity: 'error', line: 1, recordType: 'HDR' },
  { code: 'HEADER_INVALID', text: `HDR~x~y\n${PRA()}\n`, lenient: true, fragment: true, severity: 'warning', line: 1, recordType: 'HDR' },
  { code: 'HEADER_NOT_FIRST', text: `${PRA()}\nHDR~GO_123_GDW_GOC_20261120_00000007.DAT~20261120 010203~123~20261119 000000~20261120 000000~01\n`, severity: 'error', line: 2, recordType: 'HDR' },
  { code: 'FILE_NAME_INVALID', text: goFile([PRA()], '\n', 'GO_123_GDW_GOC_2026112_00000007.DAT'), severity: 'error', line: 1, recordType: 'HDR', field: 'Filename' },
  { code: 'FILE_NAME_MISMATCH', text: goFile([PRA()]), fileName: 'GO_123_GDW_GOC_20261120_00000008.DAT', severity: 'warning', line: 1, recordType: 'HDR' },
  { code: 'MISSING_TRAILER', text: goFile([PRA()]).replace(/TRL~\d+\n$/, ''), severity: 'error', line: 0, recordType: 'TRL' },
  { code: 'MISSING_TRAILER', text: goFile([PRA()]).replace(/TRL~\d+\n$/, ''), lenient: true, fragment: true, severity: 'error', line: 0, recordType: 'TRL' },
  { code: 'TRAILER_COUNT_MISMATCH', text: goFile([PRA()]).replace(/TRL~\d+/, 'TRL~4'), severity: 'error', line: 3, recordType: 'TRL', field: 'Record Count' },
  { code: 'TRAILER_COUNT_MISMATCH', text: goFile([PRA()]).replace(/TRL~\d+/, 'TRL~03'), severity: 'error', line: 3, recordType: 'TRL', field: 'Record Count' },
  { code: 'DATA_AFTER_TRAILER', text: goFile([PRA()]) + PRA({ 2: '1002' }) + '\n', severity: 'error', line: 4, recordType: 'PRA' },
  { code: 'UNKNOWN_RECORD_TYPE', text: goFile([`XYZ~1~${NAME}`]), severity: 'warning', line: 2 },
  { code: 'UNKNOWN_RECORD_TYPE', text: goFile([`${NAME} Smith NI QQ123456C`]), severity: 'warning', line: 2 },
  { code: 'UNKNOWN_RECORD_TYPE', text: `${PRA()}\nXYZ~1~${NAME}\n`, fragment: true, severity: 'error', line: 2 },
  { code: 'FIELD_COUNT', text: goLine('PRA', 10, { 2: '1', 7: NAME }) + '\n', severity: 'error', line: 1, recordType: 'PRA' },
  { code: 'FIELD_COUNT', text: 'PRD~1~2\n', severity: 'error', line: 1, recordType: 'PRD' },
  { code: 'EXTRA_FIELDS', text: goLine('PRA', 46, { 2: '1', 7: NAME, 46: NAME }) + '\n', lenient: true, fragment: true, severity: 'warning', line: 1, recordType: 'PRA' },
  { code: 'EXTRA_FIELDS', text: goFile([PRA()]).replace(/(TRL~\d+)/, '$1~'), lenient: true, severity: 'warning', line: 3, recordType: 'TRL' },
  { code: 'EXTRA_FIELDS', text: goFile([PRA()]).replace(/(HDR~[^\n]*)/, '$1~~'), lenient: true, severity: 'warning', line: 1, recordType: 'HDR' },
  { code: 'EXTRA_FIELDS', layout: 'ta', text: `${TA_HDR}\r${taLine()}\rFTR,1,0,`, lenient: true, severity: 'warning', line: 3, recordType: 'FTR' },
  { code: 'FIELD_COUNT', text: goFile([PRA()]).replace(/(TRL~\d+)/, '$1~'), severity: 'error', line: 3, recordType: 'TRL' },
  { code: 'FIELD_COUNT', text: goFile([PRA()]).replace(/(TRL~\d+)/, '$1~x'), lenient: true, severity: 'error', line: 3, recordType: 'TRL' },
  { code: 'REQUIRED_FIELD_MISSING', text: PRA({ 2: '' }) + '\n', severity: 'error', line: 1, recordType: 'PRA', field: 'Person ID' },
  { code: 'INVALID_DATE', text: PRA({ 14: '20230230' }) + '\n', severity: 'error', line: 1, recordType: 'PRA', field: 'Date of Birth' },
  { code: 'INVALID_TIMESTAMP', text: goFile([PRA()]).replace('20261120 010203', '20261120 250203'), severity: 'error', line: 1, recordType: 'HDR', field: 'Creation Date' },
  { code: 'INVALID_TIME', text: goLine('ABA', 48, { 2: '1', 3: 'A1', 9: '25:00' }) + '\n', severity: 'error', line: 1, recordType: 'ABA', field: 'Projected Start Time' },
  { code: 'INVALID_NUMBER', text: goFile([PRA()]).replace(/TRL~\d+/, 'TRL~three'), severity: 'error', line: 3, recordType: 'TRL', field: 'Record Count' },
  { code: 'CSV_SYNTAX', layout: 'ta', text: `${TA_HDR}\rATT,20160427,ADD,,1,,"unclosed\rFTR,1,0`, severity: 'error', line: 2 },
];

describe('reader problems', () => {
  for (const c of CASES) {
    it(`${c.code}${c.lenient ? ' (lenient)' : ''}${c.fragment ? ' (fragment)' : ''} ${c.severity} at line ${c.line}`, async () => {
      const { summary } = await read(c.layout ?? 'go-gdw', Buffer.from(c.text, 'latin1'), { lenient: c.lenient, fragment: c.fragment, fileName: c.fileName });
      const all = [...summary.errors, ...summary.warnings];
      const p = all.find((x) => x.code === c.code);
      assert.ok(p, `expected ${c.code}, got ${all.map((x) => x.code).join(', ') || 'nothing'}`);
      assert.equal(p.severity, c.severity);
      assert.equal(p.line, c.line);
      if (c.recordType) assert.equal(p.recordType, c.recordType);
      if (c.field) assert.equal(p.field, c.field);
      assert.ok(p.message.includes(c.code));
      if (c.line) assert.ok(p.message.includes(`line ${c.line}`));
      if (c.fileName) assert.ok(p.message.includes(c.fileName));
      for (const q of all) assert.ok(!q.message.includes(NAME) && !q.message.includes('Müller'), 'no field value in messages');
      assert.equal(summary.valid, c.severity === 'warning', 'a warning alone leaves the file valid; an error makes it invalid');
      assert.ok(!JSON.stringify(summary.records).includes(NAME), 'no value among the record type counts');
    });
  }

  it('does not hold a file without line breaks: an over-long line is skipped chunk by chunk', async () => {
    const reader = new EsrReader(loadLayout('go-gdw'), { maxLineLength: 1000, fragment: true });
    const out: EsrRecord[] = [];
    let maxCarry = 0;
    const chunks = [PRA() + '\n', ...Array.from({ length: 50 }, () => 'x'.repeat(300)), '\n', PRA({ 2: '1002' }) + '\n'];
    const source = Readable.from(chunks.map((c) => Buffer.from(c)));
    source.on('data', () => (maxCarry = Math.max(maxCarry, (reader as unknown as { carry: string }).carry.length)));
    await pipeline(source, reader, new Writable({ objectMode: true, write: (r, _e, cb) => (out.push(r), cb()) }));
    assert.ok(maxCarry <= 1300, `carried ${maxCarry} characters`);
    assert.deepEqual(out.map((r) => r.personId), ['1001', '1002']);
    const s = reader.summary();
    assert.deepEqual(s.errors.map((e) => [e.code, e.line]), [['LINE_TOO_LONG', 2]]);
    assert.equal(s.lines, 3);
  });

  it('rejects an invalid record with its problems instead of passing it on', async () => {
    const { records, rejected } = await read('go-gdw', Buffer.from([PRA({ 14: '20230230' }), PRA({ 2: '1002' })].join('\n') + '\n'), { fragment: true });
    assert.deepEqual(records.map((r) => r.personId), ['1002']);
    assert.equal(rejected.length, 1);
    assert.equal(rejected[0].line, 1);
    assert.equal(rejected[0].record.lastName, NAME);
    assert.deepEqual(rejected[0].problems.map((p) => p.code), ['INVALID_DATE']);
  });

  it('never echoes a first field that is not a record type code', async () => {
    const { summary } = await read('go-gdw', Buffer.from(goFile([`${NAME} Smith`]).replace(/TRL~\d+/, 'TRL~3')));
    const w = summary.warnings.find((p) => p.code === 'UNKNOWN_RECORD_TYPE')!;
    assert.equal(w.recordType, undefined);
    assert.deepEqual(summary.records, { HDR: 1, '?': 1, TRL: 1 });
  });

  it('keeps extra trailing columns in lenient mode and writes them back', async () => {
    const { records } = await read('go-gdw', Buffer.from(goLine('PRA', 46, { 2: '1', 45: 'x', 46: 'y' }) + '\n'), { lenient: true, fragment: true });
    assert.deepEqual(records[0]._extra, ['x', 'y']);
  });
});

describe('reader details', () => {
  it('decodes ISO-8859-1: Müller comes out as Müller', async () => {
    const bytes = Buffer.from(goFile([PRA({ 7: 'Müller' })]), 'latin1');
    assert.ok(bytes.includes(0xfc));
    const { records, summary } = await read('go-gdw', bytes);
    assert.equal(records[1].lastName, 'Müller');
    assert.equal(summary.valid, true);
  });

  for (const [eol, name] of [['\n', 'lf'], ['\r\n', 'crlf'], ['\r', 'cr']] as const) {
    it(`accepts ${name} line endings and reports them, also when fed one byte at a time`, async () => {
      const text = goFile([PRA(), PRA({ 2: '1002' })], eol);
      const whole = await read('go-gdw', Buffer.from(text, 'latin1'));
      assert.equal(whole.summary.eol, name);
      assert.equal(whole.summary.valid, true);
      const reader = new EsrReader(loadLayout('go-gdw'));
      const out: EsrRecord[] = [];
      const bytes = Buffer.from(text, 'latin1');
      await pipeline(
        Readable.from((function* () { for (let i = 0; i < bytes.length; i++) yield bytes.subarray(i, i + 1); })()),
        reader,
        new Writable({ objectMode: true, write: (r, _e, cb) => (out.push(r), cb()) }),
      );
      assert.deepEqual(out, whole.records);
      assert.equal(reader.summary().eol, name);
      assert.equal(reader.summary().lines, 4);
    });
  }

  it('reads file facts from the header', async () => {
    const { summary } = await read('go-gdw', Buffer.from(goFile([PRA()])));
    assert.deepEqual(
      { vpd: summary.file.vpd, subtype: summary.file.subtype, extract: summary.file.extract, date: summary.file.date, sequence: summary.file.sequence },
      { vpd: '123', subtype: 'GDW', extract: 'changes', date: '2026-11-20', sequence: 7 },
    );
  });

  it('checks the TA trailer against the ATT lines only', async () => {
    const ok = await read('ta', Buffer.from(`${TA_HDR}\r${taLine()}\r${taLine()}\rFTR,2,0`));
    assert.deepEqual(ok.summary.errors, []);
    assert.equal(ok.records[1].elementName, 'Business Miles NR NHS');
    assert.equal(ok.records[1].effectiveDate, '2016-04-27');
    assert.equal(ok.records[0].creationTime, '2016-04-27T13:51:34');
    const bad = await read('ta', Buffer.from(`${TA_HDR}\r${taLine()}\rFTR,3,0`));
    assert.deepEqual(bad.summary.errors.map((e) => e.code), ['TRAILER_COUNT_MISMATCH']);
  });

  it('keeps ASA with 50 fields as a known variant', async () => {
    const { records, summary } = await read('go-gdw', Buffer.from(goLine('ASA', 50, { 2: '1', 3: '9' }) + '\n'), { fragment: true });
    assert.deepEqual(summary.errors, []);
    assert.equal(records[0]._fieldCount, 50);
  });

  it('applies backpressure: an unread reader stops pulling bytes', async () => {
    const line = PRA() + '\n';
    let produced = 0;
    const source = new Readable({
      read() {
        produced += line.length * 100;
        this.push(line.repeat(100));
      },
    });
    const reader = new EsrReader(loadLayout('go-gdw'));
    source.pipe(reader);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.ok(produced < 2 * 1024 * 1024, `produced ${produced} bytes with nobody reading`);
    assert.ok(reader.bytesRead < 2 * 1024 * 1024);
    source.destroy();
    reader.destroy();
  });
});
