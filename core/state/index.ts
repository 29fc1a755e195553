/** Durable, atomic state: sequence numbers, ledgers and leases, in a local folder or in Redis. Free of Node-RED. */
export { StateError } from './store';
export type { StateStore, LedgerValue } from './store';
export { LocalStateStore } from './local';
export type { LocalStoreOptions } from './local';
export { RedisStateStore } from './redis';
export type { RedisStoreOptions } from './redis';
