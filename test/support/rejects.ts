/** Asserts that an SFTP operation fails with the given error code, and returns the error. */
import * as assert from 'node:assert/strict';
import { SftpError } from '../../core/sftp';

export async function rejectsWith(promise: Promise<unknown>, code: string): Promise<SftpError> {
  let caught: unknown;
  await promise.then(
    () => assert.fail(`expected ${code}`),
    (err) => (caught = err),
  );
  assert.ok(caught instanceof SftpError, String(caught));
  assert.equal(caught.code, code, caught.message);
  return caught;
}
