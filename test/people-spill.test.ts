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
import { EsrReader, loadLayout, PersonGrouper, SpilledPeople, type GroupOptions, type OtherRecord, type PersonGroup } from '../core/codec';
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

  it('removes the spill folders a killed process left (its pid not running, or older than this process) and keeps those in use', async () => {
    const trust = new SyntheticTrust({ staff: 30, seed: 9 });
    const file = path.join(dir, `stale-${goFileName(trust, 'GDW', 0)}`);
    await writeGoFile(file, 'GDW', fullFileRecords(trust, 'GDW'));
    const spillDir = path.join(dir, 'spill-stale');
    let dead = 4_000_000; // a pid no process has (pids stop at 4194304)
    while ((() => { try { process.kill(dead, 0); return true; } catch { return false; } })()) dead++;
    const make = (name: string, ageMs = 0) => {
      const folder = path.join(spillDir, name);
      fs.mkdirSync(folder, { recursive: true });
      fs.writeFileSync(path.join(folder, '0.jsonl'), '["1",{}]\n');
      if (ageMs) {
        const then = new Date(Date.now() - process.uptime() * 1000 - ageMs);
        fs.utimesSync(folder, then, then);
      }
      return folder;
    };
    const killed = make(`people-${dead}-Ab12Cd`);
    const older = make('people-Xy34Zw', 60_000); // made before pids were in the name, before this process started
    const ourPidBefore = make(`people-${process.pid}-Qq11Rr`, 60_000); // a container restart gives the same pid
    const otherRuntime = make(`people-${process.ppid}-Ef56Gh`); // a live process's: in use
    const ours = make(`people-${process.pid}-Ij78Kl`); // this process's, made since it started: in use
    const notOurs = make('something-else', 60_000);
    await group(file, { mode: 'collect', spill: { dir: spillDir, afterRecords: 5 } });
    assert.equal(fs.existsSync(killed), false, 'the folder of a process that is gone is removed');
    assert.equal(fs.existsSync(older), false, 'an unnamed folder older than this process is removed');
    assert.equal(fs.existsSync(ourPidBefore), false, 'a folder with this pid from before this process started is removed');
    assert.equal(fs.existsSync(otherRuntime), true, "a running process's folder is kept");
    assert.equal(fs.existsSync(ours), true, "this process's current folder is kept");
    assert.equal(fs.existsSync(notOurs), true, 'other folders are left alone');
    const spill = new SpilledPeople(spillDir, 2);
    assert.match(path.basename(spill.folder), new RegExp(`^people-${process.pid}-`), 'a new folder is named with the pid');
    await spill.remove();
  });
});
