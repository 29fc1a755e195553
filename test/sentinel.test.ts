/**
 * No value in any message: inputs whose every value is a unique sentinel go through every error and warning path
 * of the codec, the mapping engine and the CLI; no problem text, record type, field name, error or CLI output
 * (other than to-json's records, which are the data) holds a sentinel. The nodes' side is in test/nodes.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadLayout, readAll, writeToBuffer, type Problem } from '../core/codec';
import { compileMapping } from '../core/mapping';
import { ROOT } from './helpers';
import { sentinelFiles, sentinelRecords, Sentinels } from './support/sentinels';

const BIN = path.join(ROOT, 'bin', 'esr.js');

function problemTexts(problems: Problem[]): string[] {
  return problems.flatMap((p) => [p.message, p.recordType ?? '', p.field ?? '', p.file ?? '']);
}

describe('sentinels: no value reaches a message', () => {
  const files = sentinelFiles();

  it('builds inputs that reach the problem codes they are meant to', async () => {
    const codes = new Set<string>();
    for (const f of files) {
      for (const lenient of [false, true]) {
        const { summary, rejected } = await readAll(loadLayout(f.layout), f.bytes, { fileName: f.name, lenient, fragment: f.fragment });
        for (const p of [...summary.errors, ...summary.warnings, ...rejected.flatMap((r) => r.problems)]) codes.add(p.code);
      }
    }
    for (const code of ['INVALID_DATE', 'INVALID_TIMESTAMP', 'INVALID_TIME', 'INVALID_NUMBER', 'FIELD_COUNT', 'EXTRA_FIELDS', 'UNKNOWN_RECORD_TYPE', 'HEADER_INVALID', 'HEADER_NOT_FIRST', 'DATA_AFTER_TRAILER', 'TRAILER_COUNT_MISMATCH', 'QUOTING_MISMATCH', 'CSV_SYNTAX', 'INVALID_ENCODING', 'LINE_TOO_LONG', 'FILE_NAME_INVALID', 'FILE_NAME_MISMATCH', 'BLANK_LINE', 'MISSING_TRAILER', 'LAST_LINE_NOT_ENDED', 'BYTE_ORDER_MARK', 'NO_HEADER']) {
      assert.ok(codes.has(code), `no input reaches ${code}`);
    }
  });

  it('the reader: problems, rejected lines and counts', async () => {
    for (const f of files) {
      for (const lenient of [false, true]) {
        const { summary, rejected } = await readAll(loadLayout(f.layout), f.bytes, { fileName: f.name, lenient, fragment: f.fragment });
        const texts = [...problemTexts([...summary.errors, ...summary.warnings, ...summary.fileErrors]), ...rejected.flatMap((r) => [r.recordType, ...problemTexts(r.problems)]), ...Object.keys(summary.records)];
        Sentinels.assertNoneIn(texts, `${f.label}, lenient ${lenient}`);
      }
    }
  });

  it('the writer: every error names record, known record type and field only', async () => {
    for (const { layout, record } of sentinelRecords()) {
      await assert.rejects(async () => writeToBuffer(loadLayout(layout), [record]), (err: Error) => {
        Sentinels.assertNoneIn([err.message, String((err as { recordType?: string }).recordType ?? ''), String((err as { field?: string }).field ?? '')], `${layout} ${err.message}`);
        return true;
      });
    }
  });

  it('the mapping engine: helpers and lookups given values they cannot take', () => {
    const sections = ['isoToYmd', 'ymdToIso', 'isoToDdMmmYyyy', 'ddMmmYyyyToIso', 'isoToDmy', 'dmyToIso', 'lookup.grades'];
    let failures = 0;
    for (const section of sections) {
      const mapper = compileMapping({ rules: [{ target: 'out', template: `{{#${section}}}{{v}}{{/${section}}}` }], lookups: [{ name: 'grades', entries: { A: 'B' } }] });
      for (let i = 0; i < 5; i++) {
        try {
          mapper.map({ recordType: Sentinels.next(), v: Sentinels.next() }, { payload: null });
        } catch (err) {
          failures++;
          Sentinels.assertNoneIn([(err as Error).message], section);
        }
      }
    }
    assert.equal(failures, sections.length * 5, 'every sentinel value fails its helper or lookup');
  });

  it('the CLI: inspect (text and JSON) and to-json problems on stderr', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'esr-sentinel-'));
    for (const f of files) {
      const file = path.join(dir, f.name);
      fs.writeFileSync(file, f.bytes);
      for (const args of [['inspect', file], ['inspect', file, '--json'], ['inspect', file, '--lenient'], ['to-json', file], ['to-json', file, '--lenient']]) {
        const r = spawnSync(process.execPath, [BIN, ...args, '--layout', f.layout, ...(f.fragment ? ['--fragment'] : [])], { encoding: 'latin1' });
        const out = args[0] === 'to-json' ? r.stderr : r.stdout + r.stderr;
        Sentinels.assertNoneIn([out], `${f.label}: esr ${args[0]} ${args.slice(2).join(' ')}`);
      }
    }
    const input = sentinelRecords().map(({ layout, record }) => ({ layout, line: JSON.stringify(record) }));
    for (const { layout, line } of input) {
      const r = spawnSync(process.execPath, [BIN, 'write', '--layout', layout], { input: line + '\n', encoding: 'latin1' });
      assert.notEqual(r.status, 0);
      Sentinels.assertNoneIn([r.stderr], `esr write ${layout}`);
    }
  });
});
