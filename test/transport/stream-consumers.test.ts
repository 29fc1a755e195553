/**
 * Every way a flow may read a download stream, over SFTP and FTPS: piped to slow and bursty consumers, read by
 * `read()` in paused mode, by an async iterator whose first chunk is put back in front of the rest (as esr-read does
 * to detect a layout), with the first chunk unshifted, and with pauses longer than the inactivity timeout. Each must
 * deliver the file whole; only a reader that takes nothing at all for the reader timeout is ended (READER_STALLED).
 */
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Transport } from '../../core/transport';
import { PROTOCOLS, startHub, type TestHub } from '../support/hubs';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** Hashes what it is given, waiting `delay(n)` ms before taking chunk n. */
function sink(delay: (n: number) => number) {
  const hash = createHash('sha256');
  let n = 0;
  let bytes = 0;
  const w = new Writable({
    highWaterMark: 64 * 1024,
    write(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      bytes += chunk.length;
      const d = delay(n++);
      if (d > 0) setTimeout(cb, d);
      else cb();
    },
  });
  return { w, digest: () => hash.digest('hex'), bytes: () => bytes };
}

for (const { protocol, skip } of PROTOCOLS) {
  describe(`download streams and their consumers (${protocol})`, { skip }, () => {
    let hub: TestHub;
    const SIZE = 24 * 1024 * 1024 + 12345;
    let digest = '';
    const name = 'consumers.bin';
    const sessions: Transport[] = [];
    const open = (extra: Record<string, unknown> = {}) => {
      // 1.5 s inactivity timeout (the hub's FAST settings): every pause below is longer.
      const s = hub.open({ operationTimeoutMs: 1500, ...extra });
      sessions.push(s);
      return s;
    };

    before(async () => {
      hub = await startHub(protocol);
      const content = randomBytes(SIZE);
      digest = sha(content);
      fs.writeFileSync(path.join(hub.root, name), content);
    });
    after(async () => {
      await Promise.all(sessions.map((s) => s.close().catch(() => undefined)));
      await hub?.stop();
    });

    it('piped to a slow consumer', async () => {
      const s = sink((n) => (n % 8 === 0 ? 5 : 0));
      await open().get(name, (stream) => pipeline(stream, s.w));
      assert.equal(s.digest(), digest);
    });

    it('piped to a bursty consumer that pauses longer than the inactivity timeout', async () => {
      // Fast for a while, then 2.5 s of nothing (the timeout is 1.5 s): the server waits for the reader, not the reverse.
      const s = sink((n) => (n === 40 || n === 200 ? 2500 : 0));
      await open().get(name, (stream) => pipeline(stream, s.w));
      assert.equal(s.bytes(), SIZE);
      assert.equal(s.digest(), digest);
    });

    it('read with read() in paused mode, in bursts', async () => {
      const hash = createHash('sha256');
      await open().get(name, async (stream) => {
        let reads = 0;
        for (;;) {
          const chunk = stream.read() as Buffer | null;
          if (chunk) {
            hash.update(chunk);
            if (++reads % 5 === 0) await sleep(30);
            continue;
          }
          if (stream.readableEnded) break;
          await new Promise<void>((resolve, reject) => {
            const done = () => {
              stream.off('readable', done);
              stream.off('end', done);
              stream.off('error', fail);
              resolve();
            };
            const fail = (err: Error) => reject(err);
            stream.once('readable', done);
            stream.once('end', done);
            stream.once('error', fail);
          });
          if (stream.readableEnded && stream.readableLength === 0) break;
        }
      });
      assert.equal(hash.digest('hex'), digest);
    });

    it('with its first chunk taken by an async iterator and put back in front of the rest (esr-read, layout auto)', async () => {
      const s = sink((n) => (n % 4 === 0 ? 2 : 0));
      await open().get(name, async (stream) => {
        const chunks = stream[Symbol.asyncIterator]();
        await sleep(300); // the buffer fills while the first chunk is looked at
        const first = await chunks.next();
        const head = first.value as Buffer;
        await pipeline(
          Readable.from((async function* () {
            yield head;
            for (let c = await chunks.next(); !c.done; c = await chunks.next()) yield c.value;
          })()),
          s.w,
        );
      });
      assert.equal(s.digest(), digest);
    });

    it('with its first chunk unshifted', async () => {
      const s = sink(() => 0);
      await open().get(name, async (stream) => {
        await new Promise((r) => stream.once('readable', r));
        await sleep(300);
        const head = stream.read() as Buffer;
        stream.unshift(head);
        await pipeline(stream, s.w);
      });
      assert.equal(s.digest(), digest);
    });

    it('a reader that takes nothing for the reader timeout ends the transfer (READER_STALLED), not the inactivity timeout', async () => {
      const started = Date.now();
      const session = open({ readerTimeoutMs: 4000 });
      await assert.rejects(
        session.get(name, async (stream) => {
          await new Promise<void>((resolve, reject) => {
            stream.once('error', reject);
            stream.once('close', resolve);
          });
        }),
        (err: Error & { code?: string }) => err.code === 'READER_STALLED',
      );
      const took = Date.now() - started;
      assert.ok(took >= 3500, `ended after ${took} ms, before the reader timeout`);
      // The session goes on: the next download works.
      const s = sink(() => 0);
      await session.get(name, (stream) => pipeline(stream, s.w));
      assert.equal(s.digest(), digest);
    });
  });
}
