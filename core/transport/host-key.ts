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

/** A pin that cannot be a SHA-256 host-key fingerprint (e.g. an MD5 one); the message says what to pin instead. */
export class PinError extends Error {
  readonly code = 'BAD_PIN';
  constructor(message: string) {
    super(`${message} [BAD_PIN]`);
    this.name = 'PinError';
  }
}

/**
 * The SHA-256 fingerprints in a pin field, one per line (a hub rotating its key is pinned with both). Throws PinError
 * for an MD5 or hex fingerprint — it would only ever read as a changed key — or anything else that is not SHA256.
 */
export function parsePins(text: string | undefined): string[] {
  const pins: string[] = [];
  for (const line of (text ?? '').split(/[\r\n]+/)) {
    const given = line.trim();
    if (!given) continue;
    const pin = normaliseFingerprint(given);
    if (/^SHA256:[A-Za-z0-9+/]{43}$/.test(pin)) {
      pins.push(pin);
      continue;
    }
    const md5 = /^MD5:/i.test(given) || /^([0-9a-f]{2}:){15}[0-9a-f]{2}$/i.test(given) || /^[0-9a-f]{32}$/i.test(given) || /^[0-9a-f]{64}$/i.test(given);
    const what = md5 ? 'an MD5 or hex fingerprint' : 'not a SHA256 fingerprint';
    throw new PinError(`the pinned host key is ${what}: pin the SHA256 fingerprint that \`ssh-keygen -lf\` prints (SHA256:…)`);
  }
  return pins;
}
