/**
 * A process that takes GO files into a ChangeFeeds, for the tests that kill it with SIGKILL. Arguments:
 * `local FOLDER DIR` | `redis URL PASSWORD PREFIX DIR`. It takes each *.DAT file of DIR in sequence order; per step it
 * prints `{"events":[...]}` (handed on), waits for a line on stdin, commits, prints `{"committed":NAME}` and waits
 * for a line again — so the test decides at which moment it dies. Today is the date in each file's name.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { ChangeFeeds } from '../../core/changes';
import { LocalStateStore, RedisStateStore, type StateStore } from '../../core/state';
import { runOf } from './changes';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const store: StateStore = args[0] === 'redis' ? new RedisStateStore({ url: args[1], password: args[2], prefix: args[3] }) : new LocalStateStore({ folder: args[1] });
  const dir = args[args.length - 1];
  const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  const go = async () => {
    const next = await lines.next();
    if (next.done) process.exit(0);
  };
  let today = '2000-01-01';
  const feeds = new ChangeFeeds(store, { today: () => today });
  const bySequence = (n: string) => n.slice(-12, -4);
  for (const name of fs.readdirSync(dir).filter((n) => n.endsWith('.DAT')).sort((a, b) => bySequence(a).localeCompare(bySequence(b)))) {
    const run = await runOf(path.join(dir, name));
    today = run.facts.date!;
    let step: Awaited<ReturnType<typeof feeds.next>> = await feeds.take(run);
    while (step) {
      process.stdout.write(JSON.stringify({ file: name, outcome: step.outcome, events: step.events }) + '\n');
      await go();
      await step.commit();
      process.stdout.write(JSON.stringify({ committed: name }) + '\n');
      await go();
      step = await feeds.next();
    }
  }
  await store.close();
  process.stdout.write(JSON.stringify({ end: true }) + '\n', () => process.exit(0));
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
});
