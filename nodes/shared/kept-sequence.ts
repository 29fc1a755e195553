/**
 * Keeps a msg.parts sequence whole when a node drops some of its messages (esr-map filtering by record type or
 * condition), so that what goes on is a sequence the core join (automatic mode), split and switch accept as is:
 * indexes 0..n-1 with no gaps, `count` = n on the last message, and no empty-payload message to end it.
 *
 * How: the latest kept message of each sequence is held back; it goes on when the next kept one arrives, and at the
 * end of the sequence it goes on carrying `parts.count`. A sequence of which nothing is kept sends nothing (the
 * caller is told, to show it in its status). A sequence that ends with msg.reset (its source failed) ends with the
 * latest kept message carrying msg.reset, so a join drops what it holds and esr-write makes no file.
 *
 * Messages of one sequence are taken to arrive in order (Node-RED delivers one node's messages in order). The end of
 * a sequence is the message with `parts.count` whose index is the last (count - 1), or the count-th message seen:
 * esr-read puts `count` on its last message only, the core split on every message.
 */
import type { NodeMessage } from './node-red';

export interface Parts {
  id: string;
  index: number;
  count?: number;
  [key: string]: unknown;
}

/** What became of one incoming message: the messages to send now, and whether its sequence ended. */
export interface Passed {
  send: NodeMessage[];
  /** The sequence ended with this message; `kept` is how many of its messages went on (0: none at all); `failed`: it was abandoned. */
  ended?: { kept: number; seen: number; failed: boolean };
}

interface Open {
  held?: NodeMessage;
  sent: number;
  seen: number;
  count?: number;
  /** The sequence failed here (e.g. a record could not be mapped): the rest of it is dropped. */
  failed?: boolean;
}

/** A sequence message's parts (an `id` and a numeric `index`), or undefined for a message of no sequence. */
export function partsOf(msg: NodeMessage): Parts | undefined {
  const p = msg.parts as Partial<Parts> | undefined;
  return p && typeof p === 'object' && typeof p.id === 'string' && typeof p.index === 'number' ? (p as Parts) : undefined;
}

export class KeptSequences {
  private readonly open = new Map<string, Open>();

  /** At most this many sequences are followed at once; the oldest is forgotten past it (a source that never ends). */
  constructor(private readonly limit = 1000) {}

  /**
   * One message of a sequence, and what the node makes of it: `out` (a message with the same parts), or undefined
   * when the node drops it. The messages returned carry renumbered parts; `out` may be held back for later.
   */
  pass(input: NodeMessage, out: NodeMessage | undefined): Passed {
    const parts = partsOf(input)!;
    const s = this.follow(parts);
    const send: NodeMessage[] = [];
    if (out !== undefined && !s.failed) {
      if (s.held) send.push(this.numbered(s.held, s.sent++));
      s.held = out;
    }
    if (!this.isEnd(parts, s)) return { send };
    this.open.delete(parts.id);
    if (s.held) send.push(this.numbered(s.held, s.sent++, s.sent));
    return { send, ended: { kept: s.sent, seen: s.seen, failed: s.failed === true } };
  }

  /**
   * The sequence ends here with msg.reset (its source failed), or the node failed on one of its messages: what was
   * kept so far ends with `reset` on its last message (nothing when nothing went on), and the rest of the sequence
   * is dropped. `out` is the reset message itself when the node could map it.
   */
  abandon(input: NodeMessage, out?: NodeMessage, reset: unknown = true): NodeMessage[] {
    const parts = partsOf(input)!;
    const s = this.follow(parts);
    const send: NodeMessage[] = [];
    if (!s.failed) {
      if (out !== undefined) {
        if (s.held) send.push(this.numbered(s.held, s.sent++));
        s.held = out;
      }
      if (s.held) send.push({ ...this.numbered(s.held, s.sent++, s.sent), reset });
      s.held = undefined;
      s.failed = true;
    }
    if (this.isEnd(parts, s)) this.open.delete(parts.id);
    return send;
  }

  /** True when the sequence of this message was abandoned: its remaining messages are only counted, not mapped. */
  abandoned(input: NodeMessage): boolean {
    const parts = partsOf(input);
    return parts !== undefined && this.open.get(parts.id)?.failed === true;
  }

  /** Forgets every sequence (the node is closing). */
  clear(): void {
    this.open.clear();
  }

  private follow(parts: Parts): Open {
    let s = this.open.get(parts.id);
    if (!s) {
      if (this.open.size >= this.limit) this.open.delete(this.open.keys().next().value!);
      this.open.set(parts.id, (s = { sent: 0, seen: 0 }));
    }
    s.seen++;
    if (typeof parts.count === 'number') s.count = parts.count;
    return s;
  }

  private isEnd(parts: Parts, s: Open): boolean {
    return s.count !== undefined && (s.seen >= s.count || parts.index >= s.count - 1);
  }

  /** A copy of `msg` numbered `index` in its sequence; `count` only on the last message. */
  private numbered(msg: NodeMessage, index: number, count?: number): NodeMessage {
    const own = msg.parts as Parts;
    // Nothing dropped before it (the common case): the message goes on as it is, not copied per record.
    if (own.index === index && own.count === count) return msg;
    const { count: _dropped, ...parts } = own;
    return { ...msg, parts: count === undefined ? { ...parts, index } : { ...parts, index, count } };
  }
}
