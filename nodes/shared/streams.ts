/**
 * A stream payload can be read once, by one node. Node-RED deep-copies a message for every wire after the first, and
 * a deep copy of a stream is dead: reading it waits for data that never comes. So esr-sftp-in marks each stream it
 * sends (handOut), and a node that reads one (esr-read) takes it first (takeStream), which fails at once:
 *
 * - STREAM_COPIED: the stream is Node-RED's copy (the message went down more than one wire);
 * - STREAM_USED: it was read (or is being read) already, or has ended.
 *
 * The original stream is then ended with the same error, so that esr-sftp-in hands the file back at once instead of
 * holding its connection until the server's inactivity timeout. Both codes mean "the flow is wired wrongly", never
 * "the file is bad": a file failed with one is handed back for a retry, not moved to the error folder.
 */
import type { Readable } from 'node:stream';

export const STREAM_COPIED = 'STREAM_COPIED';
export const STREAM_USED = 'STREAM_USED';

// Copied by Node-RED's deep copy (lodash's cloneDeep copies own symbol properties): which stream a copy was made from.
const ID = Symbol('esr.stream.id');

// What no copy carries: membership of these sets.
const originals = new WeakSet<Readable>();
const taken = new WeakSet<Readable>();
const live = new Map<number, Readable>();
let nextId = 0;

type Marked = Readable & { [ID]?: number };

/** Marks a stream about to be sent in a message, so that a copy of it is known; forgotten once it closes. */
export function handOut(stream: Readable): void {
  const id = ++nextId;
  (stream as Marked)[ID] = id;
  originals.add(stream);
  live.set(id, stream);
  stream.once('close', () => live.delete(id));
}

/** True for the error takeStream throws: the flow is wired wrongly, the file is not at fault. */
export function isStreamMisuse(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === STREAM_COPIED || code === STREAM_USED;
}

/**
 * Takes a stream to read it: throws (at once) an Error with code STREAM_COPIED or STREAM_USED, its message from
 * `message(code)`, when it cannot be read whole; a stream no node of this pack handed out is checked for use only.
 */
export function takeStream(stream: Readable, message: (code: string) => string): void {
  const s = stream as Marked;
  const copied = s[ID] !== undefined && !originals.has(s);
  const used = !copied && (taken.has(s) || s.destroyed || s.readableEnded || s.readableDidRead || s.readableFlowing === true);
  if (!copied && !used) {
    taken.add(s);
    return;
  }
  const code = copied ? STREAM_COPIED : STREAM_USED;
  const err = Object.assign(new Error(message(code)), { code });
  // The original (never the copy: its insides are copies of the connection's) is ended, so its file is handed back.
  const original = copied ? live.get(s[ID]!) : originals.has(s) ? s : undefined;
  if (original && !original.destroyed) original.destroy(err);
  throw err;
}

/**
 * The first bytes of a stream, left in it: resolves with what the stream holds once it first has data (a Buffer;
 * empty for an empty stream), put back with unshift so that the stream itself is then read from its start, and
 * its errors and destruction stay with it (a wrapper around it would not pass them back to the download). Rejects
 * with the stream's error.
 */
export function peekStream(stream: Readable): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const finish = (err: Error | undefined, head: Buffer) => {
      stream.off('readable', onReadable);
      stream.off('end', onEnd);
      stream.off('error', onError);
      if (err) reject(err);
      else resolve(head);
    };
    const onReadable = () => {
      const chunk = stream.read() as Buffer | string | null;
      if (chunk === null) return; // the end: 'end' follows
      stream.unshift(chunk);
      finish(undefined, Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk), 'latin1'));
    };
    const onEnd = () => finish(undefined, Buffer.alloc(0));
    const onError = (err: Error) => finish(err, Buffer.alloc(0));
    stream.on('readable', onReadable);
    stream.once('end', onEnd);
    stream.once('error', onError);
  });
}
