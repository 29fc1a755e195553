/** Convenience wrappers around EsrReader for whole files and async iteration. */
import * as fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Readable, Writable } from 'node:stream';
import type { CompiledLayout } from './layout';
import { EsrReader, type EsrRecord, type ReadOptions, type ReadSummary, type Rejected } from './reader';

export interface ReadResult {
  records: EsrRecord[];
  rejected: Rejected[];
  summary: ReadSummary;
}

/** Reads a whole file (path or bytes) into memory. For big files stream through EsrReader instead. */
export async function readAll(layout: CompiledLayout, input: string | Buffer | Readable, options: ReadOptions = {}): Promise<ReadResult> {
  const reader = new EsrReader(layout, { fileName: typeof input === 'string' ? input : undefined, ...options });
  const records: EsrRecord[] = [];
  const rejected: Rejected[] = [];
  reader.on('reject', (r: Rejected) => rejected.push(r));
  const source = typeof input === 'string' ? fs.createReadStream(input) : Buffer.isBuffer(input) ? Readable.from([input]) : input;
  await pipeline(
    source,
    reader,
    new Writable({
      objectMode: true,
      write(record: EsrRecord, _enc, cb) {
        records.push(record);
        cb();
      },
    }),
  );
  return { records, rejected, summary: reader.summary() };
}

/** The first line of a file (latin1), for layout detection; reads at most 64 KiB. */
export function firstLineOf(file: string): string {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(64 * 1024);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    const text = buf.toString("latin1", 0, n);
    const end = text.search(/[\r\n]/);
    return end === -1 ? text : text.slice(0, end);
  } finally {
    fs.closeSync(fd);
  }
}
