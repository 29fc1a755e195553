/**
 * `npm start`: the demo on this machine. Prints the editor's address, the demo hub's fingerprint and where the
 * outputs land, then reports them as they appear. Ctrl-C stops everything.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startDemo } from './demo';
import { ROOT } from './seed';

const PORT = Number(process.env.PORT) || 1880;

function findFiles(dir: string, pattern: RegExp): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => pattern.test(n)) : [];
}

async function main(): Promise<void> {
  const dir = path.join(ROOT, '.demo');
  console.log('Starting the demo: a synthetic trust, a simulated ESR hub and Node-RED with the example flows…');
  const demo = await startDemo({ dir, port: PORT });
  const rel = (p: string) => path.relative(process.cwd(), p) || '.';
  console.log(`
  Node-RED editor      ${demo.nodeRed.url}/
  Demo ESR hub (SFTP)  ${demo.hub.host}:${demo.hub.port}, user esr-demo
  Hub fingerprint      ${demo.hub.fingerprint}
  Hub folders          ${rel(demo.hubRoot)}/Out (GO files from ESR), ${rel(demo.hubRoot)}/In (files the flows send to ESR)
  Roster output        ${rel(demo.rosterCsvDir)} (CSV import files), ${rel(demo.standInsDir)}/roster/staff (API posts)
  Expenses, OH output  ${rel(demo.standInsDir)}/expenses, ${rel(demo.standInsDir)}/oh
  Trust exports        ${rel(path.dirname(demo.seeded.exports.rosterPay))} (what the trust systems send to ESR)

  ${demo.seeded.trust.staff} invented staff, VPD ${demo.seeded.trust.vpd}. Press Ctrl-C to stop.
`);
  const seen = new Set<string>();
  const report = () => {
    const found = [
      ...findFiles(demo.rosterCsvDir, /\.csv$/).map((n) => `roster import file ${rel(path.join(demo.rosterCsvDir, n))}`),
      ...findFiles(path.join(demo.hubRoot, 'In'), /\.DAT$/).map((n) => `sent to ESR: In/${n}`),
      ...findFiles(path.join(demo.hubRoot, 'Out', 'rostering', 'error'), /\.DAT$/).map((n) => `FAILED (see the editor's debug panel): ${n}`),
    ];
    for (const line of found) if (!seen.has(line) && seen.add(line)) console.log(`  ✓ ${line}`);
  };
  const timer = setInterval(report, 1000);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    clearInterval(timer);
    console.log('\nStopping the demo…');
    demo.stop().finally(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  demo.nodeRed.process.on('exit', (code) => {
    if (stopping) return;
    console.error(`Node-RED stopped (exit ${code}):\n${demo.nodeRed.log().slice(-2000)}`);
    stopping = true;
    clearInterval(timer);
    demo.stop().finally(() => process.exit(1));
  });
}

main().catch((err: Error) => {
  console.error(`The demo could not start: ${err.message}`);
  if (/in use|did not start/.test(err.message)) console.error(`Is port ${PORT} in use? Start with PORT=1881 npm start.`);
  process.exit(1);
});
