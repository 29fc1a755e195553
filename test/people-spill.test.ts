/**
 * Property test: person mode over a GDW file (rows grouped by record type) gives the same people whether the rows
 * are held in memory or spilled to temporary files past a bound (core/codec/spill.ts), over generated trusts, full
 * and change files, any spill point and any number of buckets; the temporary files are gone afterwards, also when
 * the read fails part way.
 */
import { describe, it, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { EsrReader, loadLayout, PersonGrouper, type GroupOptions, type OtherRecord, type PersonGroup } from '../core/codec';
import { changeFileRecords, fullFileRecords, goFileName, SyntheticTrust, writeGoFile } from '../core/synthetic';
import { rng } from './helpers';

const layout = loadLayout('go-gdw');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'esr-spill-test-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

async function group(file: string, options: GroupOptions): Promise<{ people: PersonGroup[]; others: OtherRecord[] }> {
  const people: PersonGroup[] = [];
  const others: OtherRecord[] = [];
  await pipeline(
    fs.createReadStream(file),
    new EsrReader(layout, { fileName: path.basename(file) }),
    new PersonGrouper(layout, options),
    new Writable({
      objectMode: true,
      highWaterMark: 1,
      write(item: PersonGroup | OtherRecord, _enc, cb) {
        if (item.type === 'person') people.push(item);
        else others.push(item);
        // A slow reader now and then: the grouper must wait for it between buckets.
        if (people.length % 97 === 0) setTimeout(cb, 1);
        else cb();
      },
    }),
  );
  return { people, others };
}

const byId = (people: PersonGroup[]) => [...people].sort((a, b) => (a.personId < b.personId ? -1 : a.personId > b.personId ? 1 : 0));

describe('person mode spilled to disk gives the same people as in memory', () => {
  it('over generated trusts, full and change files, any spill point and bucket count', async () => {
    const r = rng(1414);
    let spilledRounds = 0;
    for (let round = 0; round < 12; round++) {
      const trust = new SyntheticTrust({ staff: 5 + Math.floor(r() * 120), seed: 100 + round });
      const day = round % 3;
      const name = goFileName(trust, 'GDW', day);
      const file = path.join(dir, `${round}-${name}`);
      await writeGoFile(file, 'GDW', day === 0 ? fullFileRecords(trust, 'GDW') : changeFileRecords(trust, 'GDW', day));
      const spillDir = path.join(dir, `spill-${round}`);
      const afterRecords = Math.floor(r() * (day === 0 ? 60 : 4));
      const buckets = 1 + Math.floor(r() * 9);
      const memory = await group(file, { mode: 'collect' });
      const spilled = await group(file, { mode: 'collect', spill: { dir: spillDir, afterRecords, buckets } });
      const label = `round ${round}: ${memory.people.length} people, spill after ${afterRecords}, ${buckets} buckets`;
      assert.ok(memory.people.length > 0, label);
      assert.deepEqual(byId(spilled.people), byId(memory.people), label);
      assert.deepEqual(spilled.others, memory.others, label);
      // The folder exists once the rows were spilled (made on demand), and is then empty.
      if (fs.existsSync(spillDir)) {
        spilledRounds++;
        assert.deepEqual(fs.readdirSync(spillDir), [], `${label}: the temporary files are removed`);
      }
    }
    assert.ok(spilledRounds >= 8, `only ${spilledRounds} of 12 rounds spilled`);
  });

  it('a read that fails after spilling removes the temporary files', async () => {
    const trust = new SyntheticTrust({ staff: 40, seed: 7 });
    const file = path.join(dir, goFileName(trust, 'GDW', 0));
    await writeGoFile(file, 'GDW', fullFileRecords(trust, 'GDW'));
    const spillDir = path.join(dir, 'spill-fail');
    const bytes = fs.readFileSync(file);
    const cut = bytes.subarray(0, Math.floor(bytes.length * 0.8));
    const source = Readable.from((async function* () {
      yield cut;
      throw Object.assign(new Error('the download broke off'), { code: 'ECONNRESET' });
    })());
    await assert.rejects(
      pipeline(source, new EsrReader(layout, { fileName: path.basename(file) }), new PersonGrouper(layout, { mode: 'collect', spill: { dir: spillDir, afterRecords: 10 } }), new Writable({ objectMode: true, write: (_i, _e, cb) => cb() })),
      /broke off/,
    );
    assert.deepEqual(fs.readdirSync(spillDir), [], 'removed by the time the read has failed');
  });
});
