/**
 * Interop: every real-format sample in ../shared is read and round-trips byte for byte. Most samples are bare rows
 * (no HDR or TRL), so they are read as fragments, as asked.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { detectLayout, firstLineOf } from '../core/codec';
import { HAVE_SAMPLES, SAMPLES_DIR, SAMPLES_SKIP, read, sample, write } from './helpers';

if (!HAVE_SAMPLES) process.stdout.write(`# interop tests ${SAMPLES_SKIP}\n`);

const files = HAVE_SAMPLES ? fs.readdirSync(SAMPLES_DIR).filter((f) => f.endsWith('.DAT')).sort() : [];
const EMPTY = new Set(['bad_name_has_timestamp_20200602_00001632.DAT', 'bad_name_missing_timestamp.DAT']);
const STRICT_FAILS: Record<string, string[]> = {
  'mixed_import.DAT': ['FILE_NAME_INVALID', 'TRAILER_COUNT_MISMATCH'],
  // Its first line is a 2-field free-text "HDR": read past only in lenient mode, so strictly a header without a trailer.
  'iso_8859_1.DAT': ['HEADER_INVALID', 'MISSING_TRAILER'],
};

function layoutOf(file: string): string {
  const layout = detectLayout(file, firstLineOf(file));
  assert.ok(layout, `no layout detected for ${file}`);
  return layout.id;
}

describe('shared ESR samples', { skip: SAMPLES_SKIP }, () => {
  it('has the samples the README of ../shared lists', () => {
    assert.ok(files.length >= 60, `found ${files.length} samples`);
  });

  for (const name of files) {
    if (EMPTY.has(name)) {
      it(`${name}: an empty file is an EMPTY_FILE error`, async () => {
        const { summary } = await read('go-gdw', sample(name));
        assert.equal(summary.valid, false);
        assert.deepEqual(summary.errors.map((e) => e.code), ['EMPTY_FILE']);
      });
      continue;
    }
    it(`${name}: reads and round-trips`, async () => {
      const file = sample(name);
      const layoutId = layoutOf(file);
      const strict = await read(layoutId, file, { fragment: true });
      const fails = STRICT_FAILS[name];
      if (fails) {
        assert.equal(strict.summary.valid, false);
        assert.deepEqual([...new Set(strict.summary.errors.map((e) => e.code))].sort(), [...fails].sort());
      } else {
        assert.deepEqual(strict.summary.errors, []);
        assert.equal(strict.rejected.length, 0);
        const eol = strict.summary.eol === 'none' ? undefined : (strict.summary.eol as 'lf' | 'crlf' | 'cr');
        const rewritten = await write(layoutId, strict.records, { eol });
        assert.ok(rewritten.equals(fs.readFileSync(file)), 'a strictly valid file comes back byte for byte with the count recomputed');
      }
      const lenient = await read(layoutId, file, { lenient: true, fragment: true });
      assert.deepEqual(lenient.summary.errors, [], 'passes lenient');
      const eol = lenient.summary.eol === 'none' ? undefined : (lenient.summary.eol as 'lf' | 'crlf' | 'cr');
      const bytes = await write(layoutId, lenient.records, { eol, trailerCount: 'keep' });
      assert.ok(bytes.equals(fs.readFileSync(file)), 'same bytes after write(read(file))');
    });
  }

  it('detects GDW for the data rows, gdr for the refresh request', () => {
    assert.equal(layoutOf(sample('person_add.DAT')), 'go-gdw');
    assert.equal(layoutOf(sample('mixed_import.DAT')), 'go-gdw');
    assert.equal(layoutOf(sample('refresh_request_GO_123_GDW_GDR_20210326_00000001.DAT')), 'gdr');
  });

  it('refuses a sample with no header unless fragments are asked for', async () => {
    const { summary } = await read('go-gdw', sample('person_add.DAT'));
    assert.equal(summary.sound, false);
    assert.deepEqual(summary.fileErrors.map((e) => e.code), ['NO_HEADER']);
    const { summary: asked } = await read('go-gdw', sample('person_add.DAT'), { fragment: true });
    assert.equal(asked.sound, true);
    assert.deepEqual(asked.warnings.map((e) => e.code), ['NO_HEADER']);
  });

  it('decodes ISO-8859-1 and keeps CRLF', async () => {
    const { records, summary } = await read('go-gdw', sample('iso_8859_1.DAT'), { lenient: true, fragment: true });
    assert.equal(summary.eol, 'crlf');
    assert.equal(records[1].assignmentAddress2ndLine, 'Town Wells Café');
  });

  it('keeps quotes, pipes, commas and leading spaces as data', async () => {
    const lca = (await read('go-gdw', sample('liberal_parsing.DAT'), { fragment: true })).records[0];
    assert.equal(lca.locationDescription, 'Maternity "Town" Hospital');
    const cma = (await read('go-gdw', sample('competency_add.DAT'), { fragment: true })).records[0];
    assert.equal(cma.competencyName, 'NHS|KSF|Health, Safety and Security C3|Core');
    const ela = (await read('go-gdw', sample('element_add.DAT'), { fragment: true })).records[0];
    assert.equal(ela.entryValue8, ' 218');
    assert.equal(ela.lastUpdateDate, '2005-10-22T06:34:28');
  });

  it('reads person rows: ISO dates, empty fields left out, PRA Last Update Date as a bare date', async () => {
    const [first, second] = (await read('go-gdw', sample('person_add.DAT'), { fragment: true })).records;
    assert.equal(first.recordType, 'PRA');
    assert.equal(first.personId, 'A48180');
    assert.equal(first.effectiveStartDate, '2017-05-01');
    assert.equal(first.effectiveEndDate, '2020-05-01');
    assert.equal(first.lastName, 'sname');
    assert.equal(first.lastUpdateDate, '2017-05-01');
    assert.equal('effectiveEndDate' in second, false);
    assert.equal('maidenName' in first, true);
    assert.equal('preferredName' in first, false);
  });

  it('reads delete rows as delete records carrying the id', async () => {
    assert.deepEqual((await read('go-gdw', sample('person_delete.DAT'), { fragment: true })).records, [{ recordType: 'PRD', personId: 'A48180' }]);
    assert.deepEqual((await read('go-gdw', sample('absence_delete.DAT'), { fragment: true })).records, [{ recordType: 'ABD', absenceAttendanceId: '112119701A' }]);
  });

  it('parses a whole GO file: header facts, LOV kept as values, trailer placeholder only in lenient mode', async () => {
    const { records, summary } = await read('go-gdw', sample('mixed_import.DAT'), { lenient: true });
    assert.equal(records[0].recordType, 'HDR');
    assert.equal(records[0].trustIdentifier, '123');
    assert.equal(records[0].previousRunDate, null);
    assert.equal(records[0].runDate, '2020-06-02T00:00:00');
    const lov = records.find((r) => r.recordType === 'LOV')!;
    assert.equal((lov.values as string[]).length, 12);
    assert.equal(summary.records.PRA, 2);
    assert.deepEqual(summary.warnings.map((w) => w.code).sort(), ['FILE_NAME_INVALID', 'TRAILER_COUNT_MISMATCH']);
  });

  it('reads the refresh request header', async () => {
    const { records, summary } = await read('gdr', sample('refresh_request_GO_123_GDW_GDR_20210326_00000001.DAT'));
    assert.deepEqual(records, [{ recordType: 'HDR', filename: 'GO_123_GDW_GDR_20210326_00000001.DAT', timestamp: '2021-03-26T00:00:00' }]);
    assert.equal(summary.finalNewline, false);
    assert.equal(summary.file.vpd, '123');
    assert.equal(summary.file.sequence, 1);
  });
});
