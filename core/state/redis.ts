/**
 * The Redis state store, for several runtimes (high availability): every step is one atomic Redis command or Lua
 * script — INCR for numbers, a hash for each ledger, SET NX PX for leases. Durable as the Redis server is: run it
 * with `appendonly yes` and `appendfsync always` for the guarantee the local store gives (see the README).
 *
 * Keys (under the prefix, default `esr`): `<prefix>:counter:<counter>`, `<prefix>:ledger:<ledger>` (a hash),
 * `<prefix>:lease:<name>`, `<prefix>:document:<name>` (one string, replaced whole by one SET: atomic).
 */
import { createClient } from '@redis/client';
import { StateError, type LedgerValue, type StateStore } from './store';

export interface RedisStoreOptions {
  /** `redis://host:port/db` or `rediss://...` (TLS); may carry a user name and password. */
  url: string;
  /** When not in the URL. */
  password?: string;
  /** Key prefix (default `esr`), e.g. one per environment sharing a server. */
  prefix?: string;
  /** Connect timeout in ms (default 10 s). */
  connectTimeoutMs?: number;
}

/** No number below `first` (a new counter starts there); one script, so no number is returned twice. */
const NEXT = `local last = tonumber(redis.call('GET', KEYS[1]))
if last == nil or last < tonumber(ARGV[1]) - 1 then redis.call('SET', KEYS[1], tonumber(ARGV[1]) - 1) end
return redis.call('INCR', KEYS[1])`;
/** Takes a free lease, or renews one the owner holds. */
const LEASE = `local held = redis.call('GET', KEYS[1])
if held == false then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
if held == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
return 0`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

type Client = ReturnType<typeof createClient>;

/** What went wrong, from an error of the client: its code (ECONNREFUSED …) or its kind (ClientOfflineError …). */
function cause(err: unknown): string | undefined {
  const e = err as { code?: unknown; name?: unknown; constructor?: { name?: string } };
  if (typeof e?.code === 'string') return e.code;
  const kind = e?.constructor?.name;
  return kind && kind !== 'Error' && kind !== 'Object' ? kind : typeof e?.name === 'string' && e.name !== 'Error' ? e.name : undefined;
}

export class RedisStateStore implements StateStore {
  readonly kind = 'redis';
  private readonly prefix: string;
  private readonly client: Client;
  private connecting?: Promise<unknown>;
  private lastError?: string;

  constructor(options: RedisStoreOptions) {
    this.prefix = options.prefix || 'esr';
    let where = 'Redis';
    try {
      where = new URL(options.url).host || where;
    } catch {
      // reported by the client when it connects
    }
    this.where = where;
    this.client = createClient({
      url: options.url,
      password: options.password || undefined,
      // A fact that cannot be kept now fails now: nothing is queued to be sent later.
      disableOfflineQueue: true,
      socket: { connectTimeout: options.connectTimeoutMs ?? 10_000, reconnectStrategy: (retries: number) => Math.min(200 * 2 ** retries, 5000) },
    });
    // Without a listener an error event would end the process; the next command reports it.
    this.client.on('error', (err: Error) => (this.lastError = cause(err)));
  }

  /** host:port of the server, for messages (never the password). */
  private readonly where: string;

  private async ready(): Promise<Client> {
    if (!this.client.isOpen) this.connecting ??= this.client.connect().catch((err) => {
      this.connecting = undefined;
      throw err;
    });
    try {
      await this.connecting;
    } catch (err) {
      throw new StateError(`cannot reach the Redis state store at ${this.where} (${cause(err) ?? this.lastError ?? 'error'})`, 'STATE_UNAVAILABLE');
    }
    return this.client;
  }

  private async run<T>(step: (client: Client) => Promise<T>): Promise<T> {
    const client = await this.ready();
    try {
      return await step(client);
    } catch (err) {
      if (err instanceof StateError) throw err;
      throw new StateError(`the Redis state store at ${this.where} did not answer (${cause(err) ?? this.lastError ?? 'error'})`, 'STATE_UNAVAILABLE');
    }
  }

  private key(kind: string, name: string): string {
    return `${this.prefix}:${kind}:${name}`;
  }

  async nextNumber(counter: string, first: number): Promise<number> {
    if (!Number.isSafeInteger(first)) throw new StateError('the first number of a counter must be a whole number', 'STATE_INVALID');
    return Number(await this.run((c) => c.eval(NEXT, { keys: [this.key('counter', counter)], arguments: [String(first)] })));
  }

  async lastNumber(counter: string): Promise<number | undefined> {
    const v = await this.run((c) => c.get(this.key('counter', counter)));
    return v === null || v === undefined ? undefined : Number(v);
  }

  async get(ledger: string, key: string): Promise<LedgerValue | undefined> {
    const v = await this.run((c) => c.hGet(this.key('ledger', ledger), key));
    if (v === null || v === undefined) return undefined;
    try {
      return JSON.parse(String(v)) as LedgerValue;
    } catch {
      throw new StateError('a ledger entry in Redis is not JSON', 'STATE_CORRUPT');
    }
  }

  async set(ledger: string, key: string, value: LedgerValue | undefined): Promise<void> {
    await this.run((c) => (value === undefined ? c.hDel(this.key('ledger', ledger), key) : c.hSet(this.key('ledger', ledger), key, JSON.stringify(value))));
  }

  async getDocument(name: string): Promise<string | undefined> {
    const v = await this.run((c) => c.get(this.key('document', name)));
    return v === null || v === undefined ? undefined : String(v);
  }

  async putDocument(name: string, text: string | Buffer | undefined): Promise<void> {
    const key = this.key('document', name);
    await this.run(async (c) => {
      if (text === undefined) await c.del(key);
      else await c.set(key, text);
    });
  }

  async lease(name: string, owner: string, ttlMs: number): Promise<boolean> {
    const r = await this.run((c) => c.eval(LEASE, { keys: [this.key('lease', name)], arguments: [owner, String(Math.max(1, Math.round(ttlMs)))] }));
    return Number(r) === 1;
  }

  async release(name: string, owner: string): Promise<void> {
    await this.run((c) => c.eval(RELEASE, { keys: [this.key('lease', name)], arguments: [owner] }));
  }

  async close(): Promise<void> {
    if (this.client.isOpen) await this.client.close().catch(() => this.client.destroy());
    else this.client.destroy();
  }
}
