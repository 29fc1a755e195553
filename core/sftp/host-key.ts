/** Host-key pinning in the form `ssh-keygen -lf` prints: SHA256:<base64 of the key's SHA-256, no padding>. */
import { createHash } from 'node:crypto';

export function fingerprint(rawKey: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(rawKey).digest('base64').replace(/=+$/, '');
}

/** Accepts "SHA256:abc", "abc" and the full `ssh-keygen -lf` line ("256 SHA256:abc comment (ED25519)"). */
export function normaliseFingerprint(pin: string): string {
  const m = /SHA256:([A-Za-z0-9+/]+)=*/.exec(pin);
  if (m) return `SHA256:${m[1]}`;
  const bare = pin.trim().replace(/=+$/, '');
  return /^[A-Za-z0-9+/]{43}$/.test(bare) ? `SHA256:${bare}` : pin.trim();
}
