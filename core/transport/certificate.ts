/**
 * Certificate pinning for FTPS: the SHA-256 fingerprint of the server's certificate, as
 * `openssl x509 -noout -fingerprint -sha256` prints it (`sha256 Fingerprint=AB:CD:…`) and as Node's
 * `getPeerCertificate().fingerprint256` gives it: 32 bytes in upper-case hex joined by colons.
 */
import { PinError } from './host-key';

/** Accepts the colon form, the openssl line and 64 bare hex digits; '' for anything else. */
export function normaliseCertFingerprint(pin: string): string {
  const hex = pin.replace(/^.*Fingerprint=/i, '').replace(/^SHA-?256:?\s*/i, '').replace(/[:\s]/g, '');
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) return '';
  return hex.toUpperCase().match(/../g)!.join(':');
}

/**
 * The certificate fingerprints in a pin field, one per line (a hub renewing its certificate is pinned with both).
 * Throws PinError (code BAD_PIN) for a SHA-1 or MD5 fingerprint or anything else that is not SHA-256.
 */
export function parseCertPins(text: string | undefined): string[] {
  const pins: string[] = [];
  for (const line of (text ?? '').split(/[\r\n]+/)) {
    const given = line.trim();
    if (!given) continue;
    const pin = normaliseCertFingerprint(given);
    if (pin) {
      pins.push(pin);
      continue;
    }
    throw new PinError('the pinned certificate is not a SHA-256 fingerprint: pin the one that `openssl x509 -noout -fingerprint -sha256` prints (AB:CD:… , 32 bytes)');
  }
  return pins;
}

/** A DER certificate as PEM, to trust exactly that certificate. */
export function derToPem(der: Buffer): string {
  const b64 = der.toString('base64').match(/.{1,64}/g)!.join('\n');
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}
