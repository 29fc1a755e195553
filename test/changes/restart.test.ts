/**
 * esr changes across a restart: a real child process taking the synthetic trust's files is killed with SIGKILL
 * between two files, or after handing on a file's events and before committing them, then started again.
 * Between files: no event lost, none repeated. Before the commit: that file's events come again, with the same
 * ids (the documented at-least-once rule), and nothing else repeats.
 */
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import * as readline from 'node:readline';
import type { ChangeEvent } from '../../core/changes';
import { SyntheticTrust, writeGoFiles } from '../../core/synthetic';
import { REDIS_SKIP, startRedis, type TestRedis } from '../support/redis';
import { brief, expectedOn } from '../support/changes';

const CHILD = path.join(__dirname, '..', 'support', 'changes-child.js');
const DAYS = 5;

interface Line {
  file?: string;
  outcome?: string;
  events?: ChangeEvent[];
  committed?: string;
  end?: boolean;
}

/** Runs the child until it prints a line for which `killAt` is true (then SIGKILL) or it ends; returns its lines. */
function runChild(args: string[], killAt: (line: Line) => boolean): Promise<{ lines: Line[]; killed: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const lines: Line[] = [];
    let err = '';
    let killed = false;
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    readline.createInterface({ input: child.stdout! }).on('line', (text) => {
      const line = JSON.parse(text) as Line;
      lines.push(line);
      if (!killed && killAt(line)) {
        killed = true;
        child.kill('SIGKILL');
      } else if (!line.end) child.stdin!.write('\n');
    });
    child.stdin!.on('error', () => undefined);
    child.on('exit', (code, signal) => (code === 0 || signal === 'SIGKILL' ? resolve({ lines, killed }) : reject(new Error(`child failed (${code}): ${err}`))));
  });
}

describe('esr changes across a restart (kill -9)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'esr-changes-restart-'));
  const trust = new SyntheticTrust({ staff: 400, seed: 11 });
  let names: string[] = [];
  let redis: TestRedis | undefined;
  let prefix = 0;
  before(async () => {
    names = await writeGoFiles(trust, dir, { days: DAYS });
    if (!REDIS_SKIP) redis = await startRedis();
  });
  after(async () => {
    await redis?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const expected = () => Array.from({ length: DAYS }, (_, i) => expectedOn(trust, 'GDW', i + 1)).flat().sort();

  const backends = [
    { name: 'local', skip: false as const, args: () => ['local', fs.mkdtempSync(path.join(os.tmpdir(), 'esr-changes-state-')), dir] },
    { name: 'redis', skip: REDIS_SKIP, args: () => ['redis', redis!.url, redis!.password, `k${++prefix}`, dir] },
  ];
  for (const backend of backends) {
    describe(backend.name, { skip: backend.skip }, () => {
      it('killed between two files: after the restart no event is lost and none repeated', async () => {
        const args = backend.args();
        const first = await runChild(args, (l) => l.committed === names[2]);
        assert.equal(first.killed, true);
        const second = await runChild(args, () => false);
        const events = [...first.lines, ...second.lines].flatMap((l) => l.events ?? []);
        assert.deepEqual(brief(events), expected());
        assert.equal(new Set(events.map((e) => e.id)).size, events.length);
        assert.deepEqual(second.lines.filter((l) => l.outcome).slice(0, 3).map((l) => l.outcome), ['repeat', 'repeat', 'repeat'], 'the files taken before are recognised');
      });

      it('killed after handing on the events and before the commit: that file gives the same events again, with the same ids', async () => {
        const args = backend.args();
        const first = await runChild(args, (l) => l.file === names[3] && !!l.events);
        const handed = first.lines.find((l) => l.file === names[3])!.events!;
        assert.ok(handed.length > 0);
        const second = await runChild(args, () => false);
        const again = second.lines.find((l) => l.file === names[3])!;
        assert.equal(again.outcome, 'applied');
        assert.deepEqual(again.events!.map((e) => e.id), handed.map((e) => e.id));
        const all = [...first.lines, ...second.lines].flatMap((l) => l.events ?? []);
        const unique = [...new Map(all.map((e) => [e.id, e])).values()];
        assert.deepEqual(brief(unique), expected(), 'nothing lost');
        assert.equal(all.length - unique.length, handed.length, 'only that file repeats');
      });
    });
  }
});
