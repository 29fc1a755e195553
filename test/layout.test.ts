/** Layout loading: built-ins, trust layout files, validation errors that name the bad path, file names. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { builtInLayoutIds, buildFileName, compileLayout, FileNameError, keyForName, LayoutError, loadLayout, parseFileName } from '../core/codec';
import { ROOT, read, goFile } from './helpers';

const EXAMPLE = path.join(ROOT, 'layouts', 'absence-inbound.example.json');

function minimal(overrides: Record<string, unknown> = {}) {
  return {
    id: 'x', title: 'x', direction: 'inbound', delimiter: '~', quoting: 'none', encoding: 'latin1', lineEnding: 'lf', finalNewline: true,
    recordTypes: [{ code: 'AAA', name: 'A', fields: [{ name: 'Person ID' }, { name: 'Start Date', kind: 'date' }] }],
    ...overrides,
  };
}

describe('layouts', () => {
  it('ships the built-in layouts with the field counts of ESR-FORMATS', () => {
    assert.deepEqual(builtInLayoutIds(), ['exp-v1', 'gdr', 'go-exp', 'go-gdw', 'ta']);
    const counts = (id: string) => Object.fromEntries(loadLayout(id).recordTypes.map((r) => [r.code, r.counts]));
    assert.deepEqual(counts('go-gdw'), {
      PRA: [44], ASA: [51, 50], POA: [24], ORA: [16, 15], LCA: [22], COA: [16], ABA: [48], TRA: [30], ELA: [26], CMA: [27], CDA: [16],
      QLA: [13], DTA: [15], ETA: [57], PIA: [57], STA: [58], LOV: [13],
    });
    assert.deepEqual(counts('go-exp'), { LCA: [22], ORA: [15, 16], POA: [24], PRA: [44], ASA: [50, 51], PHA: [8], ADA: [16], VHA: [15], COA: [16], LOV: [13] });
    assert.deepEqual(counts('exp-v1'), { PER: [30], ASG: [45] });
    assert.deepEqual(counts('ta'), { ATT: [40, 43] });
    assert.equal(loadLayout('go-exp').byDeleteCode.get('ADD')?.code, 'ADA');
    assert.equal(loadLayout('ta').byCode.get('ATT')!.fields[38].name, 'Account Code Cost Centre');
  });

  it('derives keys as the lowerCamelCase of ESR field names', () => {
    assert.equal(keyForName('Person ID'), 'personId');
    assert.equal(keyForName('Last Name'), 'lastName');
    assert.equal(keyForName('Position Name'), 'positionName');
    assert.equal(keyForName('NHS CRS UUID'), 'nhsCrsUuid');
    assert.equal(keyForName('PEI_INFORMATION1'), 'peiInformation1');
  });

  it('loads a trust layout from a path wherever a built-in id works', async () => {
    const layout = loadLayout(EXAMPLE);
    assert.equal(layout.spec.unofficial, true);
    assert.match(layout.spec.title, /replace with the layout from your ESR interface specification/i);
    const line = ['ABA', '1001', 'A1', 'Sickness', 'S12', ...Array(29).fill('')].join('~');
    const { records, summary } = await read(EXAMPLE, Buffer.from(goFile([line], '\n', 'ABS_123_20261120_00000001.DAT')));
    assert.deepEqual(summary.errors, []);
    assert.equal(records[1].absenceAttendanceId, 'A1');
  });

  const BAD: [string, Record<string, unknown>, string][] = [
    ['a wrong kind', minimal({ recordTypes: [{ code: 'AAA', fields: [{ name: 'A' }, { name: 'B', kind: 'datetime' }] }] }), 'recordTypes[0].fields[1].kind: must be one of'],
    ['a missing delimiter', minimal({ delimiter: undefined }), 'delimiter: must be a non-empty string'],
    ['a duplicate key', minimal({ recordTypes: [{ code: 'AAA', fields: [{ name: 'Person ID' }, { name: 'Person-ID' }] }] }), 'recordTypes[0].fields[1].key: duplicate key "personId"'],
    ['a code used twice', minimal({ recordTypes: [{ code: 'AAA', fields: [] }, { code: 'AAA', fields: [] }] }), 'recordTypes[1].code: record type code "AAA" is used twice'],
    ['an idField that is no field', minimal({ recordTypes: [{ code: 'AAA', idField: 'nope', fields: [] }] }), 'recordTypes[0].idField: "nope" is not the key'],
    ['fieldCounts without the full count', minimal({ recordTypes: [{ code: 'AAA', fields: [{ name: 'A' }], fieldCounts: [1] }] }), 'recordTypes[0].fieldCounts: must include 2'],
    ['an unknown field property', minimal({ recordTypes: [{ code: 'AAA', fields: [{ name: 'A', lenght: 3 }] }] }), 'recordTypes[0].fields[0].lenght: unknown property'],
    ['an unknown top-level property', minimal({ delimeter: ',' }), 'delimeter: unknown property'],
    ['an unknown record type property', minimal({ recordTypes: [{ code: 'AAA', fields: [], idfield: 'x' }] }), 'recordTypes[0].idfield: unknown property'],
    ['a reserved key', minimal({ recordTypes: [{ code: 'AAA', fields: [{ name: 'Record Type' }] }] }), 'recordTypes[0].fields[0].key: "recordType" is reserved'],
    ['a fileNameField without a fileName pattern', minimal({ header: { recordType: 'HDR', fileNameField: 'name', fields: [{ name: 'Name' }] } }), 'header.fileNameField: needs a fileName pattern'],
    ['a trailer counting an unknown record type', minimal({ trailer: { recordType: 'TRL', countField: 'n', count: { recordTypes: ['ZZZ'] }, fields: [{ name: 'N' }] } }), 'trailer.count.recordTypes[0]: "ZZZ" is not a record type'],
    ['an unknown file-name part property', minimal({ fileName: { pattern: 'X_{seq}.DAT', parts: { seq: { pattern: '\\d+', widht: 8 } } } }), 'fileName.parts.seq.widht: unknown property'],
    ['a date part that cannot match a date', minimal({ fileName: { pattern: 'X_{d}.DAT', parts: { d: { pattern: '\\d{6}', kind: 'date' } } } }), 'fileName.parts.d.pattern: a date part must match 8 digits'],
    ['an unbalanced file-name pattern', minimal({ fileName: { pattern: 'X_{vpd', parts: {} } }), 'fileName.pattern: has an unbalanced'],
    ['a record code with a line break', minimal({ recordTypes: [{ code: 'A\nB', fields: [] }] }), 'recordTypes[0].code: must not contain'],
    ['a file-name part not defined', minimal({ fileName: { pattern: 'X_{vpd}.DAT', parts: {} } }), 'fileName.parts: no part named "vpd"'],
  ];
  for (const [what, json, message] of BAD) {
    it(`refuses ${what}, naming the path`, () => {
      assert.throws(() => compileLayout(json, 'my-layout.json'), (err: unknown) => {
        assert.ok(err instanceof LayoutError);
        assert.ok(err.message.startsWith('my-layout.json: '), err.message);
        assert.ok(err.message.includes(message), err.message);
        return true;
      });
    });
  }

  it('names the file when a layout file is missing or not JSON', () => {
    assert.throws(() => loadLayout('/nonexistent/layout.json'), /\/nonexistent\/layout\.json: cannot read layout file \(ENOENT\)/);
    const bad = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'esr-')), 'bad.json');
    fs.writeFileSync(bad, '{ "id": ');
    assert.throws(() => loadLayout(bad), (err: Error) => err instanceof LayoutError && err.message.includes('bad.json: not valid JSON'));
  });
});

describe('file names', () => {
  it('copes with capturing groups inside a part pattern', () => {
    const layout = compileLayout(minimal({ fileName: { pattern: 'X_{year}_{seq}.DAT', parts: { year: { pattern: '(19|20)\\d\\d' }, seq: { pattern: '\\d+', kind: 'number' } } } }));
    assert.deepEqual(parseFileName(layout, 'X_2024_17.DAT'), { year: '2024', seq: 17 });
  });

  it('parses GO names into their parts', () => {
    assert.deepEqual(parseFileName(loadLayout('go-gdw'), 'GO_277_GDW_GOC_20210409_00001945.DAT'), {
      vpd: '277', subtype: 'GDW', extractType: 'C', date: '2021-04-09', sequence: 1945,
    });
    assert.equal(parseFileName(loadLayout('go-gdw'), 'GO_123_GDW_GOF_2020602_00001234.DAT'), undefined);
    assert.equal(parseFileName(loadLayout('go-gdw'), 'GO_123_GDW_GOF_20201302_00001234.DAT'), undefined, 'month 13');
  });

  it('builds names with zero-padded sequences and refuses parts that do not fit', () => {
    const gdr = loadLayout('gdr');
    assert.equal(buildFileName(gdr, { vpd: '123', date: '2021-03-26', sequence: 1 }), 'GO_123_GDW_GDR_20210326_00000001.DAT');
    assert.throws(() => buildFileName(gdr, { vpd: '1234', date: '2021-03-26', sequence: 1 }), FileNameError);
    assert.throws(() => buildFileName(gdr, { vpd: '123', date: '2021-03-26', sequence: 123456789 }), /more than 8 digits/);
    assert.throws(() => buildFileName(gdr, { vpd: '123', sequence: 1 }), /"date" is missing/);
  });
});
