/** A real sshd and the test helper's Node-RED, for a describe whose flows poll or upload over SFTP. */
import { before, after, afterEach } from 'node:test';
import { startSshd, type TestSshd } from './sshd';
import { helper } from './node-red';

/**
 * Call in a describe: starts an sshd (throw-away keys, 127.0.0.1, a random port) and the helper's runtime before its
 * tests, unloads the flows after each test, stops both after the last. `sshd` is set once the tests run.
 */
export function sshdAndRuntime(): { sshd: TestSshd } {
  const ctx = {} as { sshd: TestSshd };
  before(async () => {
    ctx.sshd = await startSshd();
    await new Promise<void>((resolve) => helper.startServer(resolve));
  });
  afterEach(async () => helper.unload());
  after(async () => {
    await new Promise<void>((resolve) => helper.stopServer(resolve));
    await ctx.sshd?.stop();
  });
  return ctx;
}
