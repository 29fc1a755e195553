/** Asserts that an SFTP operation fails with the given error code, and returns the error. */
import * as assert from 'node:assert/strict';
import { TransportError } from '../../core/transport';

export async function rejectsWith(promise: Promise<unknown>, code: string): Promise<TransportError> {
  let caught: unknown;
  await promise.then(
    () => assert.fail(`expected ${code}`),
    (err) => (caught = err),
  );
  assert.ok(caught instanceof TransportError, String(caught));
  assert.equal(caught.code, code, caught.message);
  return caught;
}
