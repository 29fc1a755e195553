/**
 * A cut, junk or re-saved file is never taken for a sound one: every whole file cut at every byte offset, and a
 * corpus of junk named like ESR files, is not sound in strict mode; the whole file is. Lenient mode differs in one
 * cut only: the last line ending alone taken off a whole file.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { loadLayout, readAll } from '../core/codec';
import { HAVE_SAMPLES, sample } from './helpers';
import { wholeFiles, type WholeFile } from './support/sound-files';
import * as fs from 'node:fs';

async function sound(file: WholeFile, bytes: Buffer, lenient: boolean) {
  const { summary } = await readAll(loadLayout(file.layout), bytes, { fileName: file.name, lenient });
  return summary;
}

describe('soundness: a file cut at any byte is not sound', async () => {
  const files = await wholeFiles();
  for (const file of files) {
    it(`${file.label}: whole is sound; every cut is not (strict and lenient)`, async () => {
      for (const lenient of [false, true]) {
        const whole = await sound(file, file.bytes, lenient);
        assert.equal(whole.sound, true, `whole file, lenient ${lenient}: ${whole.errors.map((e) => e.message).join('; ')}`);
        assert.equal(whole.valid, true);
        // Lenient mode lets one cut pass: the one that takes off only the last line ending, after a whole trailer
        // whose count matches (nothing of the data is missing); it says so with a warning.
        const eolLength = /\r\n$/.test(file.bytes.toString('latin1')) ? 2 : /[\r\n]$/.test(file.bytes.toString('latin1')) ? 1 : 0;
        const onlyEolOff = eolLength ? file.bytes.length - eolLength : -1;
        for (let cut = 0; cut < file.bytes.length; cut++) {
          const s = await sound(file, file.bytes.subarray(0, cut), lenient);
          if (lenient && cut === onlyEolOff) {
            assert.equal(s.sound, true);
            assert.ok(s.warnings.some((w) => w.code === 'LAST_LINE_NOT_ENDED'));
            continue;
          }
          assert.equal(s.sound, false, `cut at byte ${cut} of ${file.bytes.length}, lenient ${lenient}, was taken as sound`);
          assert.ok(s.fileErrorCount > 0 && s.fileErrors.every((p) => p.scope === 'file' && p.severity === 'error'));
        }
      }
    });
  }

  it('a file-level problem is never put on a rejected line, and is counted past the kept problems', async () => {
    const file = files.find((f) => f.label === 'go-gdw full (lf)')!;
    const text = file.bytes.toString('latin1');
    const cut = Buffer.from(text.slice(0, Math.floor(text.length * 0.6)), 'latin1'); // in the middle of a line
    const { summary, rejected } = await readAll(loadLayout('go-gdw'), cut, { fileName: file.name, keepProblems: 0 });
    assert.equal(summary.sound, false);
    assert.equal(summary.errors.length, 0, 'nothing kept');
    assert.ok(summary.fileErrorCount >= 1);
    const last = rejected[rejected.length - 1];
    assert.ok(last, 'the cut line is rejected');
    assert.ok(last.problems.every((p) => p.scope === 'line'), 'the rejected line carries only its own problems');
    const kept = (await readAll(loadLayout('go-gdw'), cut, { fileName: file.name })).summary;
    const missing = kept.fileErrors.find((p) => p.code === 'MISSING_TRAILER')!;
    assert.equal(missing.line, 0, 'the missing trailer is of the file, not of its last line');
  });
});

/** Junk with a GO or TA name: none of it is sound in strict mode. */
function junkCorpus(files: WholeFile[]): { label: string; layout: string; name: string; bytes: Buffer; isFragment?: boolean }[] {
  const go = files.find((f) => f.label === 'go-gdw change (lf)')!;
  const ta = files.find((f) => f.label === 'ta (cr)')!;
  const bytes = Buffer.alloc(4096);
  let x = 7;
  for (let i = 0; i < bytes.length; i++) bytes[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
  const corpus: ReturnType<typeof junkCorpus> = [];
  for (const [layout, name] of [['go-gdw', go.name], ['ta', ta.name]]) {
    corpus.push(
      { label: `random bytes as ${layout}`, layout, name, bytes },
      { label: `an HTML error page as ${layout}`, layout, name, bytes: Buffer.from('<html><head><title>502 Bad Gateway</title></head>\r\n<body><h1>502 Bad Gateway</h1></body></html>\r\n') },
      { label: `an empty line as ${layout}`, layout, name, bytes: Buffer.from('\n') },
      { label: `an empty file as ${layout}`, layout, name, bytes: Buffer.alloc(0) },
      { label: `a CSV export as ${layout}`, layout, name, bytes: Buffer.from('Person ID,Last Name,First Name\r\n1001,Zebedee,Ann\r\n1002,Quayle,Bob\r\n') },
    );
  }
  corpus.push(
    { label: 'a TA file as go-gdw', layout: 'go-gdw', name: go.name, bytes: ta.bytes },
    { label: 'a GO file as ta', layout: 'ta', name: ta.name, bytes: go.bytes },
  );
  for (const f of files) corpus.push({ label: `${f.label} with a byte order mark`, layout: f.layout, name: f.name, bytes: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), f.bytes]) });
  if (HAVE_SAMPLES) {
    const mixed = fs.readFileSync(sample('mixed_import.DAT'));
    corpus.push({ label: 'mixed_import.DAT with a byte order mark', layout: 'go-gdw', name: 'GO_123_GDW_GOF_20200602_00001234.DAT', bytes: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), mixed]) });
    for (const n of ['person_add.DAT', 'iso_8859_1.DAT']) corpus.push({ label: `${n} (a fragment) with a GO name`, layout: 'go-gdw', name: go.name, bytes: fs.readFileSync(sample(n)), isFragment: true });
  }
  return corpus;
}

describe('soundness: junk named like an ESR file is not sound', async () => {
  const files = await wholeFiles();
  for (const junk of junkCorpus(files)) {
    it(`${junk.label}: not sound${junk.isFragment ? ' unless fragments are asked for' : ', also when fragments are asked for'}`, async () => {
      for (const fragment of junk.isFragment ? [false] : [false, true]) {
        const { summary } = await readAll(loadLayout(junk.layout), junk.bytes, { fileName: junk.name, fragment });
        assert.equal(summary.sound, false, `fragment ${fragment}`);
        assert.equal(summary.valid, false);
      }
    });
  }

  it('lenient fragment reading: junk lines and a file of blank lines are not sound either', async () => {
    for (const text of ['\n\n', '<html><body>502 Bad Gateway</body></html>\n', 'Person ID,Last Name\r\n1001,Zebedee\r\n']) {
      const { summary } = await readAll(loadLayout('go-gdw'), Buffer.from(text), { lenient: true, fragment: true });
      assert.equal(summary.sound, false, JSON.stringify(text));
    }
  });

  it('a byte order mark is stripped with a warning in lenient mode, so the header is read', async () => {
    const go = files.find((f) => f.label === 'go-gdw full (lf)')!;
    const { records, summary } = await readAll(loadLayout('go-gdw'), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), go.bytes]), { fileName: go.name, lenient: true });
    assert.equal(summary.sound, true);
    assert.deepEqual(summary.warnings.map((w) => w.code), ['BYTE_ORDER_MARK']);
    assert.equal(records[0].recordType, 'HDR');
    assert.equal(summary.records['?'], undefined);
  });
});
