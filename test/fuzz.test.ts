/**
 * Fuzz: thousands of random mutations of valid files (cut lines, extra delimiters, bad bytes, wrong counts)
 * never throw out of the reader, and every problem it reports has a line number.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { HAVE_SAMPLES, SAMPLES_DIR, goFile, goLine, read, rng } from './helpers';

const FILE_LEVEL = new Set(['EMPTY_FILE', 'MIXED_LINE_ENDINGS', 'NO_HEADER', 'MISSING_TRAILER', 'BYTE_ORDER_MARK']);
const NASTY = [0x00, 0xff, 0x0d, 0x0a, 0x22, 0x7e, 0x2c, 0xe9, 0x20, 0x7c];

function mutate(input: Buffer, r: () => number, delimiter: number): Buffer {
  let b = Buffer.from(input);
  const at = () => Math.floor(r() * (b.length + 1));
  const steps = 1 + Math.floor(r() * 3);
  for (let s = 0; s < steps; s++) {
    const kind = Math.floor(r() * 7);
    const i = at();
    if (kind === 0) b = b.subarray(0, i); // cut short
    else if (kind === 1) b = Buffer.concat([b.subarray(0, i), Buffer.from([delimiter]), b.subarray(i)]); // extra delimiter
    else if (kind === 2 && b.length) b[Math.min(i, b.length - 1)] = NASTY[Math.floor(r() * NASTY.length)]; // bad byte
    else if (kind === 3) b = Buffer.concat([b.subarray(0, i), b.subarray(Math.min(b.length, i + 1 + Math.floor(r() * 40)))]); // drop bytes
    else if (kind === 4) b = Buffer.from(b.toString('latin1').replace(/(TRL~|FTR,)\d+/, `$1${Math.floor(r() * 100)}`), 'latin1'); // wrong count
    else if (kind === 5) {
      const lines = b.toString('latin1').split('\n');
      const j = Math.floor(r() * lines.length);
      lines.splice(j, 0, lines[Math.floor(r() * lines.length)]); // duplicated line (e.g. a second HDR)
      b = Buffer.from(lines.join('\n'), 'latin1');
    } else b = Buffer.concat([b.subarray(0, i), Buffer.from('\r\n'), b.subarray(i)]); // line break inside a line
  }
  return b;
}

async function fuzz(layoutId: string, seeds: Buffer[], rounds: number, seed: number): Promise<void> {
  const r = rng(seed);
  const delimiter = layoutId === 'ta' || layoutId === 'exp-v1' ? 0x2c : 0x7e;
  for (let n = 0; n < rounds; n++) {
    const input = mutate(seeds[n % seeds.length], r, delimiter);
    for (const lenient of [false, true]) {
      const { summary } = await read(layoutId, input, { lenient });
      for (const p of [...summary.errors, ...summary.warnings]) {
        assert.ok(Number.isInteger(p.line) && p.line >= 0 && p.line <= summary.lines, `${p.code} line ${p.line}`);
        if (!FILE_LEVEL.has(p.code)) assert.ok(p.line >= 1, `${p.code} has no line`);
        assert.ok(p.message.includes(`[${p.code}]`));
        for (const value of VALUES) assert.ok(!p.message.includes(value) && !(p.recordType ?? '').includes(value), `${p.code} message holds a value`);
      }
    }
  }
}

/** Values in the seed files that must never reach a message (parts of them may, e.g. digits, so whole words). */
const VALUES = ['Müller', 'Zebedee', 'Business Miles'];

const OWN_GO = Buffer.from(
  goFile([
    goLine('PRA', 44, { 2: '1001', 3: '20200101', 7: 'Müller', 8: 'Zebedee', 39: '20200101 101010' }),
    goLine('ASA', 51, { 2: '1001', 3: 'A1', 4: '20200101', 45: '20200101 101010' }),
    goLine('ABA', 48, { 2: '1001', 3: 'B1', 9: '09:15' }),
    'PRD~1002',
  ]),
  'latin1',
);
const OWN_TA = Buffer.from(
  'HDR,TA_431_SEL_WN1701_00000048.DAT,20160427135134,SEL,431,W,N,01\rATT,20160427,ADD,,12345678,,"Business Miles NR NHS","Claimed Mileage",25' + ','.repeat(31) + '\rFTR,1,0',
  'latin1',
);

describe('fuzz: the reader never throws and always names the line', () => {
  it('GO files made by the project', () => fuzz('go-gdw', [OWN_GO], 1500, 1));
  it('TA files made by the project', () => fuzz('ta', [OWN_TA], 750, 2));
  it('the shared ESR samples', { skip: HAVE_SAMPLES ? false : 'skipped: ../shared samples not present' }, () => {
    const seeds = fs.readdirSync(SAMPLES_DIR).filter((f) => f.endsWith('.DAT')).map((f) => fs.readFileSync(`${SAMPLES_DIR}/${f}`));
    return fuzz('go-gdw', seeds, 1500, 3);
  });
});
