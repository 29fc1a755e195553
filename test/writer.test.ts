/** Writer behaviour: exact bytes, computed header/trailer, and one failing case per error code. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { EsrWriteError, EsrWriter, buildFileName, compileLayout, loadLayout, writeToBuffer as writeToBufferLayout, type WriteErrorCode } from '../core/codec';
import { goFile, goLine, read, write } from './helpers';

const HEADER = {
  filename: 'GO_123_GDW_GOC_20261120_00000007.DAT',
  creationDate: '2026-11-20T01:02:03',
  trustIdentifier: '123',
  previousRunDate: '2026-11-19T00:00:00',
  runDate: '2026-11-20T00:00:00',
  interfaceVersionNumber: '01',
};
const person = (extra: Record<string, unknown> = {}) => ({ recordType: 'PRA', personId: '1001', employeeNumber: '2001', lastName: 'Zebedee', firstName: 'Ann', ...extra });

describe('writer', () => {
  it('writes a GO file with header and computed trailer, byte for byte', async () => {
    const bytes = await write('go-gdw', [person({ lastName: 'Müller' })], { header: HEADER });
    const expected = goFile([goLine('PRA', 44, { 2: '1001', 5: '2001', 7: 'Müller', 8: 'Ann' })]);
    assert.ok(bytes.equals(Buffer.from(expected, 'latin1')), bytes.toString('latin1'));
  });

  it('writes a TA file: quoted names, bare CR, no line ending after FTR, ATT count', async () => {
    const layout = loadLayout('ta');
    const fileName = buildFileName(layout, { vpd: '431', sourceSystem: 'SEL', periodType: 'W', periodRun: 'N', taxYear: '17', taxPeriod: '01', sequence: 48 });
    assert.equal(fileName, 'TA_431_SEL_WN1701_00000048.DAT');
    const att = {
      recordType: 'ATT', effectiveDate: '2016-04-27', operationType: 'ADD', assignmentNumber: '12345678', elementName: 'Business Miles NR NHS',
      inputValue1Name: 'Claim Start Date', inputValue1Value: '08-Jul-2009', inputValue2Name: 'Claimed Mileage', inputValue2Value: 25,
    };
    const header = { fileName, creationTime: '2016-04-27T13:51:34', sourceSystem: 'SEL', vpd: '431', periodType: 'W', periodRun: 'N', taxPeriod: '01' };
    const bytes = await write("ta", [att, { ...att, operationType: undefined }], { header });
    const att1 = 'ATT,20160427,ADD,,12345678,,"Business Miles NR NHS","Claim Start Date",08-Jul-2009,"Claimed Mileage",25' + ','.repeat(29);
    assert.equal(att1.split(',').length, 40);
    assert.equal(bytes.toString('latin1'), `HDR,${fileName},20160427135134,SEL,431,W,N,01\r${att1}\r${att1}\rFTR,2,0`);
    const back = await read('ta', bytes);
    assert.deepEqual(back.summary.errors, []);
  });

  it('writes Expenses v1 with quoted fields (empty ones as "") and an FTR carrying the file name', async () => {
    const per = { recordType: 'PER', personId: '1', employeeNumber: '2', title: 'Mrs.', lastName: "O'Brien, Jones", firstName: 'Ann', hireDate: '2020-01-01' };
    const bytes = await write('exp-v1', [{ recordType: 'HDR', fileName: 'GO_123_ASG_20090706_Full_00000001.DAT' }, per]);
    const lines = bytes.toString('latin1').split('\r\n');
    assert.equal(lines[0], 'HDR,GO_123_ASG_20090706_Full_00000001.DAT');
    assert.ok(lines[1].startsWith('PER,1,2,"Mrs.","O\'Brien, Jones","Ann","","",""'));
    assert.equal(lines[2], 'FTR,GO_123_ASG_20090706_Full_00000001.DAT,1');
    assert.equal(lines[3], '');
    const back = await read('exp-v1', bytes);
    assert.deepEqual(back.summary.errors, []);
    assert.equal(back.records[1].lastName, "O'Brien, Jones");
  });

  it('fills layout defaults into a header it builds, never into empty fields of records it is given', async () => {
    const { interfaceVersionNumber, ...header } = HEADER;
    assert.equal(interfaceVersionNumber, '01');
    const built = (await write('go-gdw', [person()], { header })).toString('latin1');
    assert.match(built, /^HDR~.*~01\n/);
    const given = (await write('go-gdw', [{ recordType: 'HDR', ...header }, person()])).toString('latin1');
    assert.match(given, /^HDR~[^\n]*000000~\n/, 'an empty field read from a file stays empty');
  });

  it('round-trips lenient extra columns past the largest variant (ASA 50/51 in go-exp)', async () => {
    const line = goLine('ASA', 53, { 2: '1', 3: 'A1', 4: '20200101', 7: 'E', 8: '2001', 52: 'x', 53: 'y' });
    const { records } = await read('go-exp', Buffer.from(line + '\n'), { lenient: true });
    assert.equal(records[0]._fieldCount, 51);
    assert.deepEqual(records[0]._extra, ['x', 'y']);
    assert.equal((await write('go-exp', records)).toString('latin1'), line + '\n');
  });

  it('builds the file name from its parts and writes it into the header it builds', async () => {
    const layout = loadLayout('go-gdw');
    const writer = new EsrWriter(layout, { fileName: { vpd: '123', subtype: 'GDW', extractType: 'F', date: '2026-11-20', sequence: 9 }, header: { creationDate: '2026-11-20T01:02:03' } });
    assert.equal(writer.fileName, 'GO_123_GDW_GOF_20261120_00000009.DAT');
    const chunks: Buffer[] = [];
    writer.on('data', (c: Buffer) => chunks.push(c));
    writer.end(person());
    await new Promise((resolve) => writer.on('end', resolve));
    assert.match(Buffer.concat(chunks).toString('latin1'), /^HDR~GO_123_GDW_GOF_20261120_00000009\.DAT~20261120 010203~~~~01\n/);
    assert.throws(() => new EsrWriter(layout, { fileName: { vpd: '123', subtype: 'GDW', extractType: 'F', date: '2026-02-30', sequence: 9 } }), /must be a real date/);
  });

  it('refuses a lone surrogate in a UTF-8 layout instead of writing a replacement character', async () => {

    const utf8 = compileLayout({ id: 'u', title: 'u', direction: 'inbound', delimiter: '|', quoting: 'none', encoding: 'utf8', lineEnding: 'lf', finalNewline: true, recordTypes: [{ code: 'AAA', fields: [{ name: 'Name' }] }] });
    await assert.rejects(writeToBufferLayout(utf8, [{ recordType: 'AAA', name: 'Zebedee \ud800' }]), /UNREPRESENTABLE_CHARACTER/);
    assert.equal((await writeToBufferLayout(utf8, [{ recordType: 'AAA', name: 'Zoë 😀' }])).toString('utf8'), 'AAA|Zoë 😀\n');
  });

  it('keeps a fragment a fragment: no header given, no trailer written', async () => {
    const bytes = await write('go-gdw', [person()]);
    assert.equal(bytes.toString('latin1'), goLine('PRA', 44, { 2: '1001', 5: '2001', 7: 'Zebedee', 8: 'Ann' }) + '\n');
  });

  it('skips invalid records when asked, reporting each', async () => {
    const layout = loadLayout('go-gdw');
    
    const writer = new EsrWriter(layout, { skipInvalid: true });
    const rejects: EsrWriteError[] = [];
    writer.on('reject', (r: { error: EsrWriteError }) => rejects.push(r.error));
    const chunks: Buffer[] = [];
    writer.on('data', (c: Buffer) => chunks.push(c));
    writer.write(person({ dateOfBirth: 'yesterday' }));
    writer.write(person({ personId: '1002' }));
    writer.end();
    await new Promise((resolve) => writer.on('end', resolve));
    assert.equal(rejects.length, 1);
    assert.equal(rejects[0].code, 'INVALID_VALUE');
    assert.equal(Buffer.concat(chunks).toString('latin1').split('\n')[0].split('~')[1], '1002');
  });
});

interface WriteCase {
  code: WriteErrorCode;
  layout?: string;
  records: unknown[];
  recordNumber: number;
  field?: string;
}

const WRITE_CASES: WriteCase[] = [
  { code: 'NOT_A_RECORD', records: [42], recordNumber: 1 },
  { code: 'UNKNOWN_RECORD_TYPE', records: [{ recordType: 'XYZ', name: 'Zebedee' }], recordNumber: 1 },
  { code: 'NOT_A_RECORD', records: [{ recordType: 'XYZ~Zebedee', values: ['a'] }], recordNumber: 1 },
  { code: 'NOT_A_RECORD', records: [person(), { recordType: 'ABC\nDEF', values: ['b'] }], recordNumber: 2 },
  { code: 'INVALID_VALUE', records: [{ recordType: 'XYZ', values: ['Zebedee', { x: 1 }] }], recordNumber: 1, field: 'value 3' },
  { code: 'FIELD_COUNT', records: [{ recordType: 'LOV', values: ['Zebedee'] }], recordNumber: 1 },
  { code: 'UNKNOWN_FIELD', records: [person({ nickname: 'Zebedee' })], recordNumber: 1 },
  { code: 'REQUIRED_FIELD_MISSING', records: [person(), person({ personId: '' })], recordNumber: 2, field: 'Person ID' },
  { code: 'INVALID_VALUE', records: [person({ dateOfBirth: '2023-02-30' })], recordNumber: 1, field: 'Date of Birth' },
  { code: 'DELIMITER_IN_VALUE', records: [person({ lastName: 'Zebedee~Smith' })], recordNumber: 1, field: 'Last Name' },
  { code: 'LINE_BREAK_IN_VALUE', records: [person({ lastName: 'Zebedee\nSmith' })], recordNumber: 1, field: 'Last Name' },
  { code: 'QUOTE_IN_VALUE', layout: 'ta', records: [{ recordType: 'ATT', effectiveDate: '2016-04-27', operationType: 'ADD', assignmentNumber: '1', elementName: 'Zebedee "x"' }], recordNumber: 1, field: 'Element Name' },
  { code: 'UNREPRESENTABLE_CHARACTER', records: [person({ lastName: 'Zebedee Łukasz' })], recordNumber: 1, field: 'Last Name' },
  { code: 'UNREPRESENTABLE_CHARACTER', layout: 'ta', records: [{ recordType: 'ATT', effectiveDate: '2016-04-27', operationType: 'ADD', assignmentNumber: '1', elementName: 'Zebedee Müller' }], recordNumber: 1, field: 'Element Name' },
  { code: 'FIELD_COUNT', records: [{ recordType: 'ASA', assignmentId: '1', _fieldCount: 49 }], recordNumber: 1 },
  { code: 'HEADER_NOT_FIRST', records: [person(), { recordType: 'HDR', ...HEADER }], recordNumber: 2 },
  { code: 'RECORD_AFTER_TRAILER', records: [{ recordType: 'HDR', ...HEADER }, { recordType: 'TRL' }, person()], recordNumber: 3 },
];

describe('writer errors', () => {
  for (const c of WRITE_CASES) {
    it(`${c.code}${c.layout ? ` (${c.layout})` : ''}`, async () => {
      await assert.rejects(write(c.layout ?? 'go-gdw', c.records), (err: unknown) => {
        assert.ok(err instanceof EsrWriteError, String(err));
        assert.equal(err.code, c.code);
        assert.equal(err.recordNumber, c.recordNumber);
        if (c.field) assert.equal(err.field, c.field);
        assert.ok(err.message.includes(`record ${c.recordNumber}`));
        assert.ok(!err.message.includes('Zebedee'), 'no value in the message');
        return true;
      });
    });
  }
});
