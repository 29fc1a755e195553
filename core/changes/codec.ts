/**
 * How a snapshot's people are written in its state document: each person as a short array, fields by position in
 * the watched lists (model.ts), empty ones as 0, and non-ASCII characters as JSON \u escapes, so that a
 * 50,000-staff snapshot is about 15 MB of ASCII (which JavaScript holds one byte per character).
 *
 * The document: line 1 the feed's meta (JSON), then one person a line:
 * [personId, personFields, [[assignmentId, assignmentFields], ...], addressFields | 0, left | 0, flags], where
 * flags is 1 for told + 2 for gone. Changing the watched lists changes positions: bump FORMAT then.
 */
import { ADDRESS_KEEP, ASSIGNMENT_KEEP, PERSON_KEEP, keep, type Fields, type PersonState } from './model';

/** The document format; a document of another format is refused (STATE_CORRUPT would be wrong: it is not). */
export const FORMAT = 1;

type Row = (string | 0)[];
type Encoded = [Row, [string, Row][], Row | 0, string | 0, number];

function row(fields: Fields, keys: readonly string[]): Row {
  const out: Row = keys.map((k) => fields[k] ?? 0);
  while (out.length && out[out.length - 1] === 0) out.pop();
  return out;
}

function fields(r: Row, keys: readonly string[]): Fields {
  const out: Fields = {};
  for (let i = 0; i < r.length; i++) if (r[i] !== 0) out[keys[i]] = keep(keys[i], r[i] as string);
  return out;
}

/** JSON with every character above 0x7E escaped: the text is ASCII. */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** One line of the document: [personId, ...the encoded person]. */
export function encodePerson(id: string, s: PersonState): string {
  const e: [string, ...Encoded] = [id, row(s.p, PERSON_KEEP), Object.entries(s.a).map(([id, a]) => [id, row(a, ASSIGNMENT_KEEP)]), s.ad ? row(s.ad, ADDRESS_KEEP) : 0, s.left ?? 0, (s.told ? 1 : 0) + (s.gone ? 2 : 0)];
  return asciiJson(e);
}

/** A person from one document line (without its leading Person ID); shared values are pooled again. */
export function decodePerson(e: Encoded): PersonState {
  const s: PersonState = { p: fields(e[0], PERSON_KEEP), a: {} };
  for (const [id, r] of e[1]) s.a[id] = fields(r, ASSIGNMENT_KEEP);
  if (e[2]) s.ad = fields(e[2], ADDRESS_KEEP);
  if (e[3]) s.left = e[3];
  if (e[4] & 1) s.told = true;
  if (e[4] & 2) s.gone = true;
  return s;
}

/** ASCII lines into one Buffer, a megabyte at a time: a large document is never also held as one string. */
export class AsciiLines {
  private readonly chunks: Buffer[] = [];
  private chunk = Buffer.allocUnsafe(1 << 20);
  private used = 0;
  private first = true;

  add(line: string): void {
    const text = this.first ? line : `\n${line}`;
    this.first = false;
    if (this.used + text.length > this.chunk.length) {
      this.chunks.push(this.chunk.subarray(0, this.used));
      this.chunk = Buffer.allocUnsafe(Math.max(1 << 20, text.length));
      this.used = 0;
    }
    this.used += this.chunk.write(text, this.used, 'latin1');
  }

  done(): Buffer {
    this.chunks.push(this.chunk.subarray(0, this.used));
    return this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
  }
}
