/**
 * Routes one shared connection's status events to the nodes that use it: connection states (connecting,
 * connected, disconnected, a failed connection) to every node; a transfer's progress only to the node whose
 * operation it is. An operation's own error is not passed on: the operation rejects, and its node shows it.
 *
 * Which operation a progress event belongs to: the connection runs operations one at a time in the order they
 * were asked for, so it is the oldest unsettled one asked through a node's view (operations the connection queues
 * itself, e.g. removing a failed upload's leftovers, transfer nothing).
 */
import type { SessionStatus, Transport } from '../../core/transport';

export type StatusListener = (status: SessionStatus) => void;

/** The operations that go through the connection's queue. */
const QUEUED = new Set<PropertyKey>(['ready', 'list', 'stat', 'get', 'getBuffer', 'put', 'rename', 'delete', 'mkdir', 'probeFolder']);

export class StatusRouter {
  private readonly listeners = new Set<StatusListener>();
  /** The owners of operations asked for and not yet settled, oldest first. */
  private readonly pending: { owner: StatusListener }[] = [];
  /** Between 'connecting' and 'connected': an error now is the connection's, not an operation's. */
  private connecting = false;

  constructor(private readonly transport: Transport) {
    transport.on('status', (s: SessionStatus) => this.route(s));
  }

  /**
   * A node's view of the connection: the same Transport, whose operations' progress reaches `listener` only, and
   * the connection's states (the current one at once, when connected). `detach` stops the events (operations in
   * flight still settle).
   */
  attach(listener: StatusListener): { session: Transport; detach: () => void } {
    this.listeners.add(listener);
    const session = new Proxy(this.transport, {
      get: (target, prop) => {
        const value = Reflect.get(target, prop, target) as unknown;
        if (typeof value !== 'function') return value;
        if (!QUEUED.has(prop)) return (value as (...a: unknown[]) => unknown).bind(target);
        return (...args: unknown[]) => this.track(listener, () => (value as (...a: unknown[]) => Promise<unknown>).apply(target, args));
      },
    });
    // A node deployed while the connection is up learns that now, not at the next change.
    if (this.transport.connected) listener({ state: 'connected' });
    return { session, detach: () => this.listeners.delete(listener) };
  }

  /** Forgets every listener (the config node closes). */
  clear(): void {
    this.listeners.clear();
  }

  private track<T>(owner: StatusListener, operation: () => Promise<T>): Promise<T> {
    const entry = { owner };
    this.pending.push(entry);
    const settle = () => {
      const i = this.pending.indexOf(entry);
      if (i >= 0) this.pending.splice(i, 1);
    };
    let promise: Promise<T>;
    try {
      promise = operation();
    } catch (err) {
      settle();
      throw err;
    }
    return promise.finally(settle);
  }

  private route(s: SessionStatus): void {
    if (s.state === 'transferring') {
      const owner = this.pending[0]?.owner;
      if (owner && this.listeners.has(owner)) owner(s);
      return;
    }
    if (s.state === 'error' && !this.connecting) return; // an operation's: its node reports it
    this.connecting = s.state === 'connecting' || (s.state === 'error' && this.connecting);
    this.listeners.forEach((l) => l(s));
  }
}
