/**
 * Lookup files as text, in the encodings trusts keep them in. UTF-8 is decoded strictly (a byte that is not UTF-8 is
 * an error naming its line, never garbled text); Windows-1252 and ISO-8859-1 are single-byte and always decode.
 * No ICU is needed: Windows-1252 is ISO-8859-1 with 27 printable characters in 0x80–0x9F.
 */
export type LookupEncoding = 'utf-8' | 'windows-1252' | 'iso-8859-1';

export const LOOKUP_ENCODINGS: readonly LookupEncoding[] = ['utf-8', 'windows-1252', 'iso-8859-1'];

/** Thrown for bytes that are not UTF-8: `line` is the file's line (1-based) holding the first of them. */
export class LookupDecodeError extends Error {
  readonly code = 'LOOKUP_NOT_UTF8';
  constructor(readonly line: number) {
    super(`line ${line}: not UTF-8; if the file was saved by Excel or another Windows program, choose Windows-1252 [LOOKUP_NOT_UTF8]`);
    this.name = 'LookupDecodeError';
  }
}

/** Windows-1252's characters for 0x80–0x9F (the five bytes it leaves undefined stay the C1 controls, as WHATWG does). */
const CP1252_HIGH = '\u20AC\u0081\u201A\u0192\u201E\u2026\u2020\u2021\u02C6\u2030\u0160\u2039\u0152\u008D\u017D\u008F\u0090\u2018\u2019\u201C\u201D\u2022\u2013\u2014\u02DC\u2122\u0161\u203A\u0153\u009D\u017E\u0178';

/** The encoding a setting names (case and dashes are forgiven: "UTF8", "cp1252", "latin1"); unknown: undefined. */
export function lookupEncoding(name: string | undefined): LookupEncoding | undefined {
  const n = String(name ?? '').toLowerCase().replace(/[^a-z0-9]/g, '');
  if (n === '' || n === 'utf8') return 'utf-8';
  if (n === 'windows1252' || n === 'cp1252') return 'windows-1252';
  if (n === 'iso88591' || n === 'latin1') return 'iso-8859-1';
  return undefined;
}

/** `bytes` as text in `encoding` (default UTF-8, a leading byte-order mark dropped). Throws LookupDecodeError. */
export function decodeLookup(bytes: Uint8Array, encoding: LookupEncoding = 'utf-8'): string {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (encoding === 'iso-8859-1') return buf.toString('latin1');
  if (encoding === 'windows-1252') return buf.toString('latin1').replace(/[\u0080-\u009F]/g, (c) => CP1252_HIGH[c.charCodeAt(0) - 0x80]);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    throw new LookupDecodeError(firstBadLine(buf));
  }
}

/** The line (1-based) of the first byte sequence that is not UTF-8. LF never occurs inside a UTF-8 sequence. */
function firstBadLine(buf: Buffer): number {
  const strict = new TextDecoder('utf-8', { fatal: true });
  let line = 1;
  let start = 0;
  while (start <= buf.length) {
    let end = buf.indexOf(0x0a, start);
    if (end < 0) end = buf.length;
    try {
      strict.decode(buf.subarray(start, end));
    } catch {
      return line;
    }
    line++;
    start = end + 1;
  }
  return line - 1;
}
