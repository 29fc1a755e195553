/** esr-map's "Try it" endpoint and lookup files, in a real Node-RED runtime: bounded cache, bounded answers, encodings. */
import { describe, it, before, after, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Mustache from 'mustache';
import { collect, NODE_RED_SKIP, helper, nodeFile, onTab, waitFor, type RedNode } from '../support/node-red';

const mapNode = nodeFile('esr-map');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'esr-map-safety-'));
// "code,name" then B5 -> Müller in Windows-1252 (0xFC is ü; not UTF-8).
const WIN1252 = path.join(dir, 'grades-1252.csv');
fs.writeFileSync(WIN1252, Buffer.from([...Buffer.from('code,name\nB5,'), 0x4d, 0xfc, 0x6c, 0x6c, 0x65, 0x72, 0x0a]));

describe('esr-map safety in Node-RED', { skip: NODE_RED_SKIP }, () => {
  before(async () => new Promise<void>((resolve) => helper.startServer(resolve)));
  afterEach(async () => helper.unload());
  after(async () => new Promise<void>((resolve) => helper.stopServer(resolve)));

  const load = () => helper.load([mapNode], onTab([{ id: 'map', type: 'esr-map', rules: [{ target: 'x', template: '{{a}}' }], wires: [[]] }]));
  const tryIt = (body: Record<string, unknown>) => helper.request().post('/esr-map/try').send(body);

  it('"Try it" keeps none of the templates it compiled', async () => {
    await load();
    Mustache.clearCache();
    for (let i = 0; i < 30; i++) {
      const res = await tryIt({ rules: [{ target: 'a', template: `{{a}}${'x'.repeat(50_000)}${i}` }], sample: '{"a":"1"}' });
      assert.equal(res.body.ok, true);
    }
    const cache = (Mustache.templateCache as unknown as { _cache: Record<string, unknown> })._cache;
    assert.equal(Object.keys(cache).length, 0);
  });

  it('"Try it" refuses a huge padding width and an answer that grows too large, with a short answer', async () => {
    await load();
    const pad = await tryIt({ rules: [{ target: 'a', template: '{{#padLeft.20000000}}{{a}}{{/padLeft.20000000}}' }], sample: '{"a":"1"}' });
    assert.equal(pad.body.ok, false);
    assert.match(pad.body.error, /rule 1 \(a\): \{\{#padLeft\.N\}\} pads to at most 1000/);
    assert.ok(JSON.stringify(pad.body).length < 1000);
    const items = JSON.stringify({ items: Array.from({ length: 1000 }, () => ({ v: 'y' })) });
    const big = await tryIt({ rules: [{ target: 'a', template: '{{#items}}{{#items}}{{#padLeft.100}}{{v}}{{/padLeft.100}}{{/items}}{{/items}}' }], sample: items });
    assert.equal(big.body.ok, false);
    assert.equal(big.body.code, 'OUTPUT_TOO_LARGE');
    assert.match(big.body.error, /larger than/);
    assert.ok(JSON.stringify(big.body).length < 1000);
  });

  it('lookups: a Windows-1252 file is read as such when chosen, and is an error with its line when read as UTF-8', async () => {
    await load();
    const rules = [{ target: 'n', template: '{{#lookup.grades}}{{g}}{{/lookup.grades}}' }];
    const lookup = { name: 'grades', source: 'csv', file: WIN1252, header: true };
    const ok = await tryIt({ rules, lookups: [{ ...lookup, encoding: 'windows-1252' }], sample: '{"g":"B5"}' });
    assert.deepEqual(ok.body, { ok: true, result: [{ n: 'Müller' }] });
    const bad = await tryIt({ rules, lookups: [lookup], sample: '{"g":"B5"}' });
    assert.equal(bad.body.ok, false);
    assert.match(bad.body.error, /lookup "grades": .*grades-1252\.csv line 2: not UTF-8/);
    assert.ok(!/M.ller/.test(bad.body.error));
  });

  it('a deployed esr-map with a lookup file that is not UTF-8 reports the file and line to a Catch node', async () => {
    await helper.load([mapNode], onTab([
      { id: 'map', type: 'esr-map', rules: [{ target: 'n', template: '{{#lookup.grades}}{{g}}{{/lookup.grades}}' }], lookups: [{ name: 'grades', source: 'csv', file: WIN1252, header: true }], wires: [[]] },
      { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
    ]));
    const caught = collect('caught');
    (helper.getNode('map') as RedNode).receive({ payload: { g: 'B5' } });
    await waitFor(() => caught.length === 1);
    assert.match(caught[0].error.message, /grades-1252\.csv line 2: not UTF-8/);
  });
});
