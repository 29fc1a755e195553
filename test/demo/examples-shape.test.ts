/**
 * The example flows as an analyst meets them in the editor, checked from their JSON: only flows under examples/,
 * failures that reach a debug node, pollers a Catch node watches, the confirm loop through link nodes, distinct
 * names, spreadsheet-safe CSV, a missing export as a status, the safety stop's accept and discard, and node boxes that do not overlap (estimated as the
 * editor draws them: a node's width follows its label, at least 100 px; height 30, 15 px per output beyond two).
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { exampleLayouts } from '../../nodes/shared/layout-choice';

const ROOT = path.join(__dirname, '..', '..', '..');
const EXAMPLES_DIR = path.join(ROOT, 'examples');

type FlowNode = Record<string, unknown> & { id: string; type: string; z?: string; name?: string; wires?: string[][]; x?: number; y?: number };

/** Every file Node-RED's Import → Examples lists for this pack: the .json files under examples/, at any depth. */
function exampleFiles(dir = EXAMPLES_DIR): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? exampleFiles(path.join(dir, e.name)) : e.name.endsWith('.json') ? [path.join(dir, e.name)] : []));
}

const flows = exampleFiles().map((file) => ({ file: path.relative(EXAMPLES_DIR, file), nodes: JSON.parse(fs.readFileSync(file, 'utf8')) as FlowNode[] }));
const all: (FlowNode & { file: string })[] = flows.flatMap((f) => (Array.isArray(f.nodes) ? f.nodes.map((n) => ({ ...n, file: f.file })) : []));
const byId = new Map(all.map((n) => [n.id, n]));
const targets = (n: FlowNode) => (n.wires ?? []).flat();
const ofType = (type: string) => all.filter((n) => n.type === type);
const pollers = () => ofType('esr-sftp-in').filter((n) => n.operation === 'poll');

/** The box the editor draws for a node, roughly: width from the label (8 px a character, with icon and ports). */
export function estimatedBox(n: FlowNode): { left: number; right: number; top: number; bottom: number } {
  const label = String(n.name || n.type);
  const width = n.type === 'comment' ? 8 * label.length + 40 : Math.max(100, 8 * label.length + 57);
  const outputs = (n.wires ?? []).length;
  const height = Math.max(30, outputs * 15);
  return { left: n.x! - width / 2, right: n.x! + width / 2, top: n.y! - height / 2, bottom: n.y! + height / 2 };
}

describe('the example flows', () => {
  it('examples/ holds flows only (Import → Examples lists every .json file there); the layout files are in layouts/', () => {
    for (const f of flows) {
      assert.ok(Array.isArray(f.nodes), `${f.file} is not a flow (an array of nodes): importing it would fail`);
      for (const n of f.nodes) assert.ok(typeof n.id === 'string' && typeof n.type === 'string', `${f.file}: a node without id and type`);
    }
    const layouts = fs.readdirSync(path.join(ROOT, 'layouts')).filter((n) => n.endsWith('.json'));
    assert.deepEqual(layouts.sort(), ['absence-inbound.example.json', 'oh-inbound.example.json', 'oh-outbound.example.json']);
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { files: string[] };
    assert.ok(pkg.files.includes('layouts'), 'the package ships layouts/');
    // The dialogs' layout-file field offers them (GET /esr/layouts/examples), by full path in the installed pack.
    assert.deepEqual(exampleLayouts().map((l) => [l.file, /UNOFFICIAL/.test(l.title)]), layouts.sort().map((n) => [path.join(ROOT, 'layouts', n), true]));
  });

  it('a node that more than one example holds (the hub, the state) is the same in each: importing one never changes another', () => {
    const ids = new Map<string, string[]>();
    for (const f of flows) for (const n of f.nodes) ids.set(n.id, [...(ids.get(n.id) ?? []), JSON.stringify(n)]);
    const differ = [...ids].filter(([, copies]) => new Set(copies).size > 1).map(([id]) => id);
    assert.deepEqual(differ, []);
  });

  it('every poller has its own name', () => {
    const names = pollers().map((n) => n.name);
    assert.equal(new Set(names).size, names.length, `pollers share a name: ${names.join(', ')}`);
  });

  it('every Catch node wires to an active debug node that shows the sidebar', () => {
    for (const c of ofType('catch')) {
      const debugs = targets(c).map((id) => byId.get(id)!).filter((n) => n.type === 'debug' || (n.type === 'switch' && targets(n).some((t) => byId.get(t)?.type === 'debug')));
      const shown = debugs.flatMap((n) => (n.type === 'debug' ? [n] : targets(n).map((t) => byId.get(t)!).filter((d) => d.type === 'debug')));
      assert.ok(shown.some((d) => d.active === true && (d.tosidebar === true || d.tostatus === true)), `${c.file}: Catch "${c.name}" reaches no active debug node`);
    }
  });

  it("every poller is in a Catch node's scope on its tab", () => {
    for (const p of pollers()) {
      const catches = ofType('catch').filter((c) => c.z === p.z && (c.scope === null || (Array.isArray(c.scope) && c.scope.includes(p.id))));
      assert.ok(catches.length > 0, `${p.file}: poller "${p.name}" is in no Catch node's scope`);
    }
  });

  it('the file summaries are active debug nodes', () => {
    for (const r of ofType('esr-read')) {
      const summary = (r.wires?.[2] ?? []).map((id) => byId.get(id)!);
      assert.ok(summary.length > 0 && summary.every((d) => d.type === 'debug' && d.active === true), `${r.file}: "${r.name}" has no active summary debug node`);
    }
  });

  it('files are confirmed through link nodes: only a link in node wires into a poller, and a Catch reaches it only for a file', () => {
    for (const p of pollers()) {
      const into = all.filter((n) => targets(n).includes(p.id));
      assert.ok(into.length > 0, `${p.file}: nothing confirms the files of "${p.name}"`);
      for (const n of into) assert.equal(n.type, 'link in', `${p.file}: "${n.name}" (${n.type}) wires straight back to "${p.name}"`);
    }
    for (const c of ofType('catch')) {
      for (const t of targets(c)) assert.notEqual(byId.get(t)!.type, 'link out', `${c.file}: Catch "${c.name}" sends every error (the poller's own too) back`);
    }
  });

  it('an esr-map whose records become a CSV file is spreadsheet-safe', () => {
    const reaches = (from: string, type: string, seen = new Set<string>()): boolean =>
      targets(byId.get(from)!).some((t) => !seen.has(t) && (seen.add(t), byId.get(t)!.type === type || reaches(t, type, seen)));
    const csvMaps = ofType('esr-map').filter((m) => reaches(m.id, 'csv'));
    assert.ok(csvMaps.length > 0, 'the rostering example writes a CSV');
    for (const m of csvMaps) assert.equal(m.spreadsheetSafe, true, `${m.file}: "${m.name}" feeds a CSV file with spreadsheet-safe off`);
  });

  it('a missing export file is a status ("nothing to send"), not an error: a Catch on the file in node sends ENOENT to a status-only debug node', () => {
    for (const f of ofType('file in')) {
      const catches = ofType('catch').filter((c) => Array.isArray(c.scope) && c.scope.includes(f.id));
      assert.equal(catches.length, 1, `${f.file}: "${f.name}" is in ${catches.length} Catch scopes`);
      const sw = byId.get(targets(catches[0])[0])!;
      assert.equal(sw.type, 'switch');
      assert.deepEqual([sw.property, (sw.rules as { t: string; v: string }[])[0]], ['error.message', { t: 'regex', v: 'ENOENT', vt: 'str', case: false }]);
      const status = (sw.wires as string[][])[0].map((id) => byId.get(id)!);
      assert.ok(status.length === 1 && status[0].type === 'debug' && status[0].active === true && status[0].tostatus === true && status[0].tosidebar === false, `${f.file}: a missing "${f.name}" is not a status`);
      const other = (sw.wires as string[][])[1].map((id) => byId.get(id)!);
      assert.ok(other.some((d) => d.type === 'debug' && d.tosidebar === true), `${f.file}: any other failure of "${f.name}" reaches the sidebar`);
    }
  });

  it("an analyst can accept or discard a full file an esr-changes node's safety stop held: an inject for each", () => {
    const changes = ofType('esr-changes');
    assert.ok(changes.length >= 2);
    for (const c of changes) {
      const feeding = all.filter((n) => n.type === 'inject' && targets(n).includes(c.id)).map((n) => n.topic);
      assert.deepEqual(feeding.sort(), ['accept', 'discard'], `${c.file}: ${c.name}`);
    }
  });

  it('every tab with a poller has an esr-audit node (Files of: this tab) writing ESR_AUDIT_LOG, its alerts to an active debug node', () => {
    const tabs = new Set(pollers().map((p) => p.z));
    assert.ok(tabs.size >= 4);
    for (const z of tabs) {
      const audits = ofType('esr-audit').filter((a) => a.z === z);
      assert.equal(audits.length, 1, `tab ${z}: ${audits.length} esr-audit nodes`);
      const [log, alerts] = (audits[0].wires ?? []).map((w) => w.map((id) => byId.get(id)!));
      assert.ok(audits[0].scope === 'flow' && log.some((n) => n.type === 'file' && n.filename === 'ESR_AUDIT_LOG' && n.filenameType === 'env' && n.appendNewline === true && n.overwriteFile === 'false'), `tab ${z}: no audit log`);
      assert.ok(alerts.some((n) => n.type === 'debug' && n.active === true), `tab ${z}: missing-file alerts reach no debug node`);
    }
  });

  it("every esr-changes node has its dialog's properties (snapshot), so opening it and clicking Done changes nothing", () => {
    for (const c of ofType('esr-changes')) assert.equal(c.snapshot, '', `${c.file}: ${c.name}`);
  });

  it('no two nodes overlap on any tab (comments included)', () => {
    for (const tab of ofType('tab')) {
      const nodes = all.filter((n) => n.z === tab.id && typeof n.x === 'number');
      for (let i = 0; i < nodes.length; i++) {
        for (let j = i + 1; j < nodes.length; j++) {
          const a = estimatedBox(nodes[i]);
          const b = estimatedBox(nodes[j]);
          const overlap = a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
          assert.ok(!overlap, `${tab.file}: "${nodes[i].name}" and "${nodes[j].name}" overlap`);
        }
      }
    }
  });
});
