/**
 * A process that takes numbers from a state store as fast as it can and prints each one once it has it, for the
 * tests that kill such processes with SIGKILL. Arguments: local FOLDER COUNTER | redis URL PASSWORD PREFIX COUNTER.
 */
import { LocalStateStore, RedisStateStore, type StateStore } from '../../core/state';

async function main(): Promise<void> {
  const [kind, where, ...rest] = process.argv.slice(2);
  const store: StateStore = kind === 'redis' ? new RedisStateStore({ url: where, password: rest[0], prefix: rest[1] }) : new LocalStateStore({ folder: where });
  const counter = rest[rest.length - 1];
  for (;;) {
    const n = await store.nextNumber(counter, 1);
    process.stdout.write(`${n}\n`);
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
});
