/** Runtime texts come from each node's en-US catalogue, through Node-RED's own i18n when it has the catalogue. */
import { it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { englishText, messagesFor } from '../../nodes/shared/messages';
import type { NodeAPI } from '../../nodes/shared/node-red';

const root = path.join(__dirname, '..', '..', '..');
const nodeTypes = ['esr-sftp-server', 'esr-sftp-in', 'esr-sftp-out', 'esr-read', 'esr-write', 'esr-map', 'esr-changes', 'esr-audit'];
const packageName = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { name: string }).name;

it("uses Node-RED's i18n and the node's catalogue namespace, so a translated catalogue replaces the text", async () => {
  // Node-RED registers each node's locales/ under "<package>/<node>"; a catalogue with other texts must win.
  const { i18n } = require('@node-red/util') as { i18n: { init(s: unknown): Promise<void>; registerMessageCatalog(ns: string, dir: string, file: string): Promise<void>; _(k: string, p?: unknown): string } };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'esr-i18n-'));
  fs.mkdirSync(path.join(dir, 'en-US'));
  fs.writeFileSync(path.join(dir, 'en-US', 'esr-read.json'), JSON.stringify({ 'esr-read': { status: { progress: '__count__ lines so far' } } }));
  await i18n.init({ lang: 'en-US' });
  await i18n.registerMessageCatalog(`${packageName}/esr-read`, dir, 'esr-read.json');
  const t = messagesFor({ _: (k: string, p?: unknown) => i18n._(k, p) } as unknown as NodeAPI, 'esr-read');
  assert.equal(t('status.progress', { count: 7 }), '7 lines so far');
  // A key the translation lacks falls back to the en-US file, not to the bare key.
  assert.equal(t('status.done', { count: 3 }), '3 records');
  assert.equal(t('status.done', { count: 1 }), '1 record', 'a plural form (done_one) too');
  fs.rmSync(dir, { recursive: true });
});

it('falls back to the en-US file when RED._ returns the key (node-red-node-test-helper does)', () => {
  const t = messagesFor({ _: (k: string) => k } as unknown as NodeAPI, 'esr-write');
  assert.equal(t('status.written', { file: 'TA_1.DAT', count: 2 }), 'TA_1.DAT: 2 records');
  assert.throws(() => t('status.nonsense'), /no message esr-write\.status\.nonsense/);
});

it('every text key used in the node sources is in that node’s en-US catalogue', () => {
  let checked = 0;
  for (const type of nodeTypes) {
    const dir = path.join(root, 'nodes', type);
    for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      const source = fs.readFileSync(path.join(dir, file), 'utf8');
      for (const m of source.matchAll(/\bt\(\s*'([\w.]+)'/g)) {
        assert.notEqual(englishText(type, m[1]), undefined, `${file}: ${m[1]}`);
        checked++;
      }
      // Keys chosen by a condition: t(x ? 'a' : 'b') and keys passed on as arguments ('errors.x').
      for (const m of source.matchAll(/'((?:status|errors|warnings)\.\w+)'/g)) {
        assert.notEqual(englishText(type, m[1]), undefined, `${file}: ${m[1]}`);
        checked++;
      }
    }
  }
  for (const key of ['status.connecting', 'status.connected', 'status.disconnected', 'status.transferring']) {
    assert.notEqual(englishText('esr-sftp-server', key), undefined, key);
  }
  assert.ok(checked > 40, `only ${checked} keys found: the scan is broken`);
});

it('a text with a count has a form for one and for more (status "1 event", not "1 events")', () => {
  const walk = (o: Record<string, unknown>, pre = ''): [string, string][] => Object.entries(o).flatMap(([k, v]) => (v && typeof v === 'object' ? walk(v as Record<string, unknown>, `${pre}${k}.`) : [[`${pre}${k}`, String(v)] as [string, string]]));
  const single: string[] = [];
  for (const type of nodeTypes) {
    const file = path.join(root, 'nodes', type, 'locales', 'en-US', `${type}.json`);
    const texts = new Map(walk(JSON.parse(fs.readFileSync(file, 'utf8'))));
    for (const [key, text] of texts) {
      if (!text.includes('__count__') || key.endsWith('.wires.streamToOne')) continue; // a stream on two or more wires
      const base = key.replace(/_(one|other)$/, '');
      if (!texts.has(`${base}_one`) || !texts.has(`${base}_other`)) single.push(`${type}: ${key}`);
    }
  }
  assert.deepEqual(single, []);
});
