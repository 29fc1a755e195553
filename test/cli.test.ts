/** The `esr` command line, run as an analyst would run it. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT, goFile, goLine } from './helpers';

const BIN = path.join(ROOT, 'bin', 'esr.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'esr-cli-'));

function esr(args: string[], input?: Buffer) {
  const r = spawnSync(process.execPath, [BIN, ...args], { input, encoding: 'buffer' });
  return { code: r.status, stdout: r.stdout, out: r.stdout.toString('latin1'), err: r.stderr.toString('utf8') };
}

function file(name: string, text: string, eol?: string): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, Buffer.from(eol ? text.replace(/\n/g, eol) : text, 'latin1'));
  return p;
}

const PRA = goLine('PRA', 44, { 2: '1001', 3: '20200101', 5: '2001', 7: 'Müller', 8: 'Ann', 39: '20200101 101010' });
const ASA = goLine('ASA', 51, { 2: '1001', 3: 'A1', 4: '20200101', 8: '2001' });
const GOOD = file('GO_123_GDW_GOC_20261120_00000007.DAT', goFile([PRA, ASA]));

describe('esr CLI', () => {
  it('audit: the copies one file has in several feeds tell a story each, not one merged', () => {
    const name = 'GO_123_GDW_GOC_20261124_00000004.DAT';
    const step = (at: string, outcome: string, feed: string) => JSON.stringify({ at, outcome, file: name, size: 10, attempt: 1, source: { name: `GO staff list - ${feed}`, ledger: `hub:Out/${feed}` } });
    const log = file('audit.jsonl', [step('2026-11-24T06:00:00.000Z', 'taken', 'rostering'), step('2026-11-24T06:00:01.000Z', 'taken', 'identity'), step('2026-11-24T06:00:02.000Z', 'done', 'rostering'), step('2026-11-24T06:00:03.000Z', 'failed', 'identity')].join('\n') + '\n');
    const r = esr(['audit', '--file', name, log]);
    assert.equal(r.code, 0, r.err);
    const stories = r.out.split('\n\n').filter((x) => x.trim());
    assert.equal(stories.length, 2, r.out);
    assert.match(stories.find((x) => x.includes('rostering'))!, /outcome: done/);
    assert.match(stories.find((x) => x.includes('identity'))!, /outcome: FAILED/);
  });

  it('audit: counts read as words (1 line; errors and warnings apart), a full file covers up to its run date, a copy put again is the same content, and the codes the flow noted are told', () => {
    const name = 'GO_123_GDW_GOF_20261124_00000005.DAT';
    const sha = 'a'.repeat(64);
    const ev = (at: string, outcome: string, deliveryId: string, extra: Record<string, unknown> = {}) => JSON.stringify({ at, outcome, file: name, size: 10, attempt: 1, deliveryId, ...extra });
    const read = { layout: 'go-gdw', sound: true, lines: 1, records: { HDR: 1 }, errorCount: 3, warningCount: 1, problems: { INVALID_DATE: 3, UNKNOWN_RECORD: 1 } };
    const log = file('audit-words.jsonl', [
      ev('2026-11-24T06:00:00.000Z', 'taken', 'd1'),
      ev('2026-11-24T06:00:01.000Z', 'failed', 'd1', { sha256: sha, read, period: { to: '2026-11-24T00:00:00' }, codes: ['CHANGES_SAFETY_STOP', 'CHANGES_DISCARDED'] }),
      ev('2026-11-24T07:00:00.000Z', 'taken', 'd2'),
      ev('2026-11-24T07:00:01.000Z', 'done', 'd2', { sha256: sha, codes: ['CHANGES_SAFETY_STOP', 'CHANGES_ACCEPTED'] }),
    ].join('\n') + '\n');
    const r = esr(['audit', '--file', name, log]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /sound, 1 line \(HDR 1\)/);
    assert.match(r.out, /3 errors, 1 warning: INVALID_DATE 3, UNKNOWN_RECORD 1/);
    assert.match(r.out, /covers up to 2026-11-24T00:00:00/);
    assert.match(r.out, /noted: CHANGES_SAFETY_STOP, CHANGES_DISCARDED/);
    assert.match(r.out, /delivery ids \(delivered again, the same content\): d1, d2/);
    assert.match(r.out, /outcome: done \(CHANGES_SAFETY_STOP, CHANGES_ACCEPTED\)/);
    assert.doesNotMatch(r.out, /\?/);
  });

  it('lists the built-in layouts with id, title and direction', () => {
    const r = esr(['layouts']);
    assert.equal(r.code, 0);
    for (const id of ['go-gdw', 'go-exp', 'exp-v1', 'ta', 'gdr']) assert.match(r.out, new RegExp(`^${id} `, 'm'));
    assert.match(r.out, /^ta\s+inbound\s+/m);
    assert.match(r.out, /^go-gdw\s+outbound\s+/m);
  });

  it('inspect: exit 0 for a valid file, with the layout detected from the name', () => {
    const r = esr(['inspect', GOOD]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /VALID/);
    assert.match(r.out, /layout go-gdw; VPD 123, subtype GDW, changes, extract date 2026-11-20, sequence 7/);
  });

  it('inspect --json prints the documented object', () => {
    const r = esr(['inspect', GOOD, '--json']);
    assert.equal(r.code, 0);
    const j = JSON.parse(r.out);
    assert.deepEqual(j.file, { name: 'GO_123_GDW_GOC_20261120_00000007.DAT', vpd: '123', subtype: 'GDW', extract: 'changes', date: '2026-11-20', sequence: 7 });
    assert.equal(j.layout, 'go-gdw');
    assert.equal(j.eol, 'lf');
    assert.equal(j.lines, 4);
    assert.deepEqual(j.records, { HDR: 1, PRA: 1, ASA: 1, TRL: 1 });
    assert.equal(j.valid, true);
    assert.deepEqual(j.errors, []);
    assert.deepEqual(j.warnings, []);
  });

  it('inspect: exit 1 for an invalid file, errors with line, record type, field and code but no values', () => {
    const bad = file('bad.DAT', goFile([PRA.replace('20200101', '20201301'), ASA]).replace(/TRL~\d+/, 'TRL~9'));
    const r = esr(['inspect', bad, '--layout', 'go-gdw', '--json']);
    assert.equal(r.code, 1);
    const j = JSON.parse(r.out);
    assert.equal(j.valid, false);
    assert.deepEqual(j.errors.map((e: { code: string }) => e.code), ['INVALID_DATE', 'TRAILER_COUNT_MISMATCH']);
    assert.deepEqual(j.errors[0], { line: 2, recordType: 'PRA', field: 'Effective Start Date', code: 'INVALID_DATE', scope: 'line', message: j.errors[0].message });
    assert.equal(j.errors[1].scope, 'file');
    assert.equal(j.sound, false);
    assert.ok(!r.stdout.toString('utf8').includes('Müller') && !r.out.includes('Müller'));
  });

  it('inspect --lenient accepts a placeholder trailer', () => {
    const placeholder = file('placeholder.DAT', goFile([PRA]).replace(/TRL~\d+/, 'TRL~123456'));
    assert.equal(esr(['inspect', placeholder, '--layout', 'go-gdw']).code, 1);
    assert.equal(esr(['inspect', placeholder, '--layout', 'go-gdw', '--lenient']).code, 0);
  });

  it('exit 2 for an unreadable file, an unknown layout and bad usage', () => {
    assert.equal(esr(['inspect', path.join(dir, 'missing.DAT')]).code, 2);
    assert.match(esr(['inspect', path.join(dir, 'missing.DAT')]).err, /ENOENT/);
    assert.equal(esr(['inspect', GOOD, '--layout', 'no-such-layout']).code, 2);
    assert.equal(esr(['inspect']).code, 2);
    assert.equal(esr(['inspect', GOOD, '--bogus']).code, 2);
    assert.equal(esr(['frobnicate']).code, 2);
    assert.equal(esr([]).code, 2);
    const unknown = file('notes.txt', 'hello\n');
    assert.match(esr(['inspect', unknown]).err, /give --layout/);
  });

  it('an unknown layout leads with what is wrong and a code, not with a path', () => {
    const r = esr(['inspect', GOOD, '--layout', 'no-such-layout']);
    assert.equal(r.code, 2);
    assert.match(r.err, /^esr: unknown layout "no-such-layout" \[UNKNOWN_LAYOUT\]/);
    assert.match(r.err, /go-gdw/);
    const missing = esr(['inspect', GOOD, '--layout', path.join(dir, 'nowhere', 'trust.json')]);
    assert.equal(missing.code, 2);
    assert.match(missing.err, /^esr: cannot read the layout file \(ENOENT\) \[LAYOUT_UNREADABLE\]: .*trust\.json/);
    const broken = file('broken-layout.json', '{"id": 1}');
    const invalid = esr(['inspect', GOOD, '--layout', broken]);
    assert.equal(invalid.code, 2);
    assert.match(invalid.err, /^esr: the layout is not valid \[LAYOUT_INVALID\]: /);
  });

  it('--json: every error is a JSON object on stdout, with a code and the exit code as without --json', () => {
    const cases: [string[], number, string][] = [
      [['inspect', '--json'], 2, 'USAGE'],
      [['inspect', GOOD, '--json', '--bogus'], 2, 'USAGE'],
      [['frobnicate', '--json'], 2, 'USAGE'],
      [['--json'], 2, 'USAGE'],
      [['inspect', path.join(dir, 'missing.DAT'), '--json'], 2, 'ENOENT'],
      [['inspect', GOOD, '--json', '--layout', 'no-such-layout'], 2, 'UNKNOWN_LAYOUT'],
      [['inspect', file('notes2.txt', 'hello\n'), '--json'], 2, 'USAGE'],
    ];
    for (const [args, code, errorCode] of cases) {
      const r = esr(args);
      assert.equal(r.code, code, args.join(' '));
      let j: { error?: { code?: string; message?: string } };
      try {
        j = JSON.parse(r.out);
      } catch {
        assert.fail(`${args.join(' ')}: not JSON: ${r.out}${r.err}`);
      }
      assert.equal(j.error?.code, errorCode, args.join(' '));
      assert.equal(typeof j.error?.message, 'string');
      assert.ok(!j.error!.message!.includes('Usage:'), 'no usage text inside JSON');
    }
  });

  it('to-json prints one record per line, header and trailer included', () => {
    const r = esr(['to-json', GOOD]);
    assert.equal(r.code, 0);
    const lines = r.stdout.toString('utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => l.recordType), ['HDR', 'PRA', 'ASA', 'TRL']);
    assert.equal(lines[1].lastName, 'Müller');
    assert.equal(lines[1].lastUpdateDate, '2020-01-01T10:10:10');
  });

  for (const eol of ['lf', 'crlf', 'cr'] as const) {
    it(`to-json | write --eol ${eol} reproduces the file byte for byte`, () => {
      const text = { lf: '\n', crlf: '\r\n', cr: '\r' }[eol];
      const original = file(`GO_123_GDW_GOF_20261120_0000000${eol.length}.DAT`, goFile([PRA, ASA, 'PRD~1002'], text, `GO_123_GDW_GOF_20261120_0000000${eol.length}.DAT`));
      const json = esr(['to-json', original]);
      assert.equal(json.code, 0, json.err);
      const back = esr(['write', '--layout', 'go-gdw', '--eol', eol], json.stdout);
      assert.equal(back.code, 0, back.err);
      assert.ok(back.stdout.equals(fs.readFileSync(original)));
    });
  }

  it('round-trips a GO file without a line ending after TRL (lenient only), and a PRA Last Update Date of zeros', () => {
    const text = goFile([PRA.replace('20200101 101010', '00000000'), ASA], '\n', 'GO_123_GDW_GOF_20261120_00000009.DAT').replace(/\n$/, '');
    const original = file('GO_123_GDW_GOF_20261120_00000009.DAT', text);
    // Strict: a file cut just before its last line ending cannot be told from this one, so it is not sound.
    const strict = esr(['inspect', original]);
    assert.equal(strict.code, 1, strict.out);
    assert.match(strict.out, /not a sound file[\s\S]*LAST_LINE_NOT_ENDED/);
    const json = esr(['to-json', original, '--lenient']);
    assert.equal(json.code, 0, json.err);
    const back = esr(['write', '--layout', 'go-gdw'], json.stdout);
    assert.ok(back.stdout.equals(fs.readFileSync(original)), back.out);
  });

  it('round-trips a TA file: quoted names, bare CR, no line ending after FTR', () => {
    const att = 'ATT,20160427,ADD,,12345678,,"Business Miles NR NHS","Claimed Mileage",25' + ','.repeat(31);
    const original = file('TA_431_SEL_WN1701_00000048.DAT', `HDR,TA_431_SEL_WN1701_00000048.DAT,20160427135134,SEL,431,W,N,01\r${att}\r${att}\rFTR,2,0`);
    const inspect = esr(['inspect', original, '--json']);
    assert.equal(inspect.code, 0, inspect.out);
    assert.equal(JSON.parse(inspect.out).layout, 'ta');
    const back = esr(['write', '--layout', 'ta'], esr(['to-json', original]).stdout);
    assert.ok(back.stdout.equals(fs.readFileSync(original)), back.out);
  });

  it('ends quietly when the reader of its output goes away', () => {
    for (const args of [['layouts'], ['inspect', GOOD], ['to-json', GOOD]]) {
      const r = spawnSync('sh', ['-c', `"${process.execPath}" "${BIN}" ${args.map((a) => `"${a}"`).join(' ')} | true`], { encoding: 'utf8' });
      assert.equal(r.stderr, '', `${args[0]}: ${r.stderr}`);
    }
  });

  it('write recomputes the trailer count', () => {
    const json = esr(['to-json', GOOD]).out.split('\n').filter((l) => !l.includes('"ASA"')).join('\n');
    const out = esr(['write', '--layout', 'go-gdw'], Buffer.from(json)).out;
    assert.match(out, /\nTRL~3\n$/);
  });

  it('write: exit 1 naming the record and field for a value the layout cannot carry', () => {
    const r = esr(['write', '--layout', 'go-gdw'], Buffer.from('{"recordType":"PRA","personId":"1","lastName":"Smith~Jones"}\n'));
    assert.equal(r.code, 1);
    assert.match(r.err, /record 1, PRA, field "Last Name".*DELIMITER_IN_VALUE/);
    assert.ok(!r.err.includes('Smith'));
    assert.equal(esr(['write', '--layout', 'go-gdw'], Buffer.from('{not json\n')).code, 1);
    assert.equal(esr(['write'], Buffer.from('')).code, 2);
  });

  it('works with a trust layout file path', () => {
    const layout = path.join(ROOT, 'layouts', 'absence-inbound.example.json');
    const aba = ['ABA', '1001', 'A1', 'Sickness', 'S12', ...Array(29).fill('')].join('~');
    const abs = file('ABS_123_20261120_00000001.DAT', goFile([aba], '\n', 'ABS_123_20261120_00000001.DAT'));
    const r = esr(['inspect', abs, '--layout', layout, '--json']);
    assert.equal(r.code, 0, r.out);
    assert.equal(JSON.parse(r.out).layout, 'absence-inbound-example');
  });
});
