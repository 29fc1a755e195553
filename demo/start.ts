/**
 * `npm start`: the demo on this machine. Prints the editor's address, the demo hub's fingerprint, where the outputs
 * land and where Node-RED's log is, then reports the outputs as they appear and every failure the debug sidebar
 * shows (a Catch node's debug node, an error or warning Node-RED logged) or that sends a file to an error folder.
 * The analyst's flows are kept from one start to the next; `npm start -- --reset` deploys the examples again.
 * Ctrl-C stops everything. DEMO_DIR (default .demo) and DEMO_STAFF (default 200) are for the tests.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startDemo } from './demo';
import { FEEDS, ROOT } from './seed';
import { failureLine, readDeployed, watchSidebar, type SidebarMessage } from './sidebar';

const PORT = Number(process.env.PORT) || 1880;

function findFiles(dir: string, pattern: RegExp): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => pattern.test(n)) : [];
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const unknown = args.filter((a) => a !== '--reset');
  if (unknown.length) throw new Error(`unknown option ${unknown[0]} (npm start -- --reset deploys the examples again over your flows)`);
  const dir = process.env.DEMO_DIR ? path.resolve(process.env.DEMO_DIR) : path.join(ROOT, '.demo');
  console.log('Starting the demo: a synthetic trust, a simulated ESR hub and Node-RED with the example flows…');
  // Ctrl-C while starting stops what has started (Node-RED would otherwise keep the port).
  let stopRequested = false;
  let stop = () => void (stopRequested = true);
  process.on('SIGINT', () => stop());
  process.on('SIGTERM', () => stop());
  const demo = await startDemo({ dir, port: PORT, reset: args.includes('--reset'), staff: Number(process.env.DEMO_STAFF) || undefined });
  let stopping = false;
  let sidebar: { close(): void } | undefined;
  let timer: NodeJS.Timeout | undefined;
  stop = () => {
    if (stopping) return;
    stopping = true;
    clearInterval(timer);
    sidebar?.close();
    console.log('\nStopping the demo…');
    demo.stop().finally(() => process.exit(0));
  };
  if (stopRequested) return stop();
  const rel = (p: string) => path.relative(process.cwd(), p) || '.';
  const flows = demo.deployed
    ? 'the examples, deployed now'
    : `yours, kept from the last run (${rel(path.join(dir, 'node-red', 'flows.json'))}); npm start -- --reset deploys the examples again`;
  // An output file is told once; a failure every time it happens (a replay that fails again is news), with the time.
  const seen = new Set<string>();
  const say = (line: string) => {
    if (!seen.has(line) && seen.add(line)) console.log(line);
  };
  const tell = (line: string) => console.log(`${line} (${new Date().toTimeString().slice(0, 8)})`);
  const report = () => {
    const found = [
      ...findFiles(demo.rosterCsvDir, /\.csv$/).map((n) => `  ✓ roster import file ${rel(path.join(demo.rosterCsvDir, n))}`),
      ...findFiles(path.join(demo.hubRoot, 'In'), /\.DAT$/).map((n) => `  ✓ sent to ESR: In/${n}${/_GDR_/.test(n) ? ' (a refresh request: the identity feed has a gap)' : ''}`),
      ...demo.gdr.answered.map((a) => `  ✓ the hub answered ${a.request} with a full file: ${FEEDS.identity}/${a.file}`),
      ...findFiles(demo.identityCsvDir, /\.csv$/).map((n) => `  ✓ AD joiners/movers/leavers file ${rel(path.join(demo.identityCsvDir, n))}`),
      ...findFiles(demo.identityRefusedDir, /\.json$/).map((n) => `  ✗ refused by the identity system, kept to replay: ${rel(path.join(demo.identityRefusedDir, n))}`),
      ...Object.values(FEEDS).flatMap((feed) => findFiles(path.join(demo.hubRoot, feed, 'error'), /./).map((n) => `  ✗ FAILED, moved to the error folder: ${feed}/error/${n}`)),
    ];
    for (const line of found) say(line);
  };
  // Every failure the debug sidebar shows, as it arrives: a Catch node's debug node, or an error/warning logged.
  let deployed = await readDeployed(demo.nodeRed.url);
  const onSidebar = async (m: SidebarMessage) => {
    if (m.level === undefined && !deployed.failureDebugs.has(m.id)) {
      // A debug node not seen before: the flows have been redeployed since.
      if (!deployed.debugs.has(m.id)) deployed = await readDeployed(demo.nodeRed.url).catch(() => deployed);
      if (!deployed.failureDebugs.has(m.id)) return;
    }
    tell(`  ${m.level === 30 ? '! warning' : '✗'} ${failureLine(m, deployed.tabs)}`);
  };
  sidebar = await watchSidebar(demo.nodeRed.url, (m) => void onSidebar(m));
  console.log(`
  Node-RED editor      ${demo.nodeRed.url}/
  Flows                ${flows}
  Node-RED's log       ${rel(demo.nodeRed.logFile)}
  Demo ESR hub (SFTP)  ${demo.hub.host}:${demo.hub.port}, user esr-demo
  Hub fingerprint      ${demo.hub.fingerprint}
  Hub folders          ${rel(demo.hubRoot)}/Out (GO files from ESR), ${rel(demo.hubRoot)}/In (files the flows send to ESR)
  Roster output        ${rel(demo.rosterCsvDir)} (CSV import files), ${rel(demo.standInsDir)}/roster/staff (API posts)
  Expenses, OH output  ${rel(demo.standInsDir)}/expenses, ${rel(demo.standInsDir)}/oh
  Identity output      ${rel(demo.standInsDir)}/identity (SCIM bulk requests, users.json), ${rel(demo.identityCsvDir)} (AD CSV files),
                       ${rel(demo.identityRefusedDir)} (requests the identity system refused, kept to replay)
  Audit log            ${rel(demo.auditLog)} (one JSON line per step of each file); what happened to a file:
                       npx esr audit --file ${demo.seeded.goFiles.identity.at(-1)} ${rel(demo.auditLog)}
  Trust exports        ${rel(path.dirname(demo.seeded.exports.rosterPay))} (what the trust systems send to ESR)

  ${demo.seeded.trust.staff} invented staff, VPD ${demo.seeded.trust.vpd}. Failures are marked ✗ below and in the
  editor's debug sidebar. Press Ctrl-C to stop.
`);
  timer = setInterval(report, 1000);
  demo.nodeRed.process.on('exit', (code) => {
    if (stopping) return;
    console.error(`Node-RED stopped (exit ${code}); its log is ${rel(demo.nodeRed.logFile)}:\n${demo.nodeRed.log().slice(-2000)}`);
    stopping = true;
    clearInterval(timer);
    sidebar?.close();
    demo.stop().finally(() => process.exit(1));
  });
}

main().catch((err: Error) => {
  console.error(`The demo could not start: ${err.message}`);
  if (/in use|did not start/.test(err.message)) console.error(`Is port ${PORT} in use? Start with PORT=1881 npm start.`);
  process.exit(1);
});
