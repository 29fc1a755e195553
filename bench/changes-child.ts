/**
 * One measured step of the changes benchmark, in its own process so that peak RSS is its own. Arguments:
 * `MODE STATE_FOLDER FILE`; MODE `baseline` takes a full file into an empty snapshot, `measure` takes a full file
 * against the snapshot there (load, read, derive, hand on, commit) and prints {ms, events, staff, maxRssKb}.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { EsrReader, loadLayout, type EsrRecord } from '../core/codec';
import { ChangeFeeds, FileRun } from '../core/changes';
import { LocalStateStore } from '../core/state';

async function main(): Promise<void> {
  const [mode, folder, file] = process.argv.slice(2);
  const start = process.hrtime.bigint();
  const store = new LocalStateStore({ folder });
  const feeds = new ChangeFeeds(store, { today: () => '2026-11-21' });
  const reader = new EsrReader(loadLayout('go-gdw'), { fileName: path.basename(file) });
  const f = reader.file;
  let run: FileRun | undefined;
  await pipeline(
    fs.createReadStream(file),
    reader,
    new Writable({
      objectMode: true,
      highWaterMark: 1024,
      write(record: EsrRecord, _e, cb) {
        run ??= new FileRun({ name: f.name!, vpd: f.vpd!, subtype: f.subtype!, extract: f.extract!, sequence: f.sequence, date: f.date });
        run.add(record);
        cb();
      },
    }),
  );
  if (!reader.summary().sound) throw new Error('benchmark file is not sound');
  let events = 0;
  const staff = run!.people.size;
  let step = await feeds.take(run!);
  if (step.outcome !== 'applied') throw new Error(`benchmark file was ${step.outcome}`);
  for (;;) {
    events += step.events.length;
    await step.commit();
    const next = await feeds.next();
    if (!next) break;
    step = next;
  }
  await store.close();
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  process.stdout.write(JSON.stringify({ mode, ms, events, staff, maxRssKb: process.resourceUsage().maxRSS }) + '\n');
}

main().catch((err) => {
  process.stderr.write(String(err) + '\n');
  process.exitCode = 1;
});
