/** One measured read of a GO file, in its own process so that peak RSS is the reader's alone. */
import * as fs from 'node:fs';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parse } from 'csv-parse';
import { loadLayout, EsrReader } from '../core/codec';

async function main(): Promise<void> {
  const [mode, file] = process.argv.slice(2);
  let records = 0;
  const count = new Writable({
    objectMode: true,
    highWaterMark: 1024,
    write(_r, _e, cb) {
      records++;
      cb();
    },
  });
  const start = process.hrtime.bigint();
  if (mode === 'csv-parse') {
    await pipeline(fs.createReadStream(file), parse({ delimiter: '~', quote: false, relax_column_count: true, encoding: 'latin1' }), count);
  } else {
    const reader = new EsrReader(loadLayout('go-gdw'));
    await pipeline(fs.createReadStream(file), reader, count);
    if (!reader.summary().valid) throw new Error('benchmark file did not read as valid');
  }
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  process.stdout.write(JSON.stringify({ ms, records, bytes: fs.statSync(file).size, maxRssKb: process.resourceUsage().maxRSS }) + '\n');
}

main().catch((err) => {
  process.stderr.write(String(err) + '\n');
  process.exitCode = 1;
});
