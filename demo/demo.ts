/**
 * The whole demo: a simulated ESR hub (SFTP over a real folder) filled with a synthetic trust's files, stand-ins
 * for the trust's systems, and Node-RED 5 with the example flows deployed against them. Used by `npm start` and by
 * the end-to-end tests.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { startGdrResponder, type GdrResponder } from './hub/gdr-responder';
import { generateUserKey, startHub, type Hub } from './hub/sftp-hub';
import { checkPortFree, deployExamples, EXAMPLES, startNodeRed, type RunningNodeRed } from './node-red';
import { DAYS, FEEDS, ROOT, seedDemo, type Seeded } from './seed';
import type { RefusalKind } from './scim-stand-in';
import { startStandIns, type StandIns, type System } from './stand-ins';

export interface DemoOptions {
  /** everything the demo writes goes here (git ignores .demo/) */
  dir: string;
  /** the editor's port (npm start: 1880) */
  port: number;
  staff?: number;
  examples?: string[];
  /** the day the demo plays (default today) */
  today?: string;
  /**
   * Deploy the examples again over the flows a previous run saved (`npm start -- --reset`). Without it the saved
   * flows (the analyst's edits) are kept; the examples are deployed only when there are none.
   */
  reset?: boolean;
  /** the identity stand-in refuses the first requests so (the tests' switch; see scim-stand-in.ts) */
  identityRefusals?: RefusalKind[];
}

export interface Demo {
  hub: Hub;
  hubRoot: string;
  standIns: StandIns;
  standInsDir: string;
  nodeRed: RunningNodeRed;
  /** whether the examples were deployed at this start (false: the saved flows were kept) */
  deployed: boolean;
  seeded: Seeded;
  /** where the rostering example writes the roster system's CSV import files */
  rosterCsvDir: string;
  /** where the identity example writes the joiners/movers/leavers CSV files for Active Directory scripts */
  identityCsvDir: string;
  /** where the identity example keeps each SCIM request the identity system refused, to replay */
  identityRefusedDir: string;
  /** the audit log the examples' esr-audit nodes append to (JSON lines; `npx esr audit` reads it) */
  auditLog: string;
  /** the hub's answers to refresh requests (GDR files in In/) */
  gdr: GdrResponder;
  stop(): Promise<void>;
}

/** A key pair kept in the demo folder, so that the hub's fingerprint stays the same from one start to the next. */
function keyPair(file: string): { privateKey: string; publicKey: string } {
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8')) as { privateKey: string; publicKey: string };
  const pair = generateUserKey();
  fs.writeFileSync(file, JSON.stringify(pair), { mode: 0o600 });
  return pair;
}

/** A random token kept in the demo folder, as the keys are: flows kept from the last start hold it in their credentials. */
function token(file: string): string {
  if (!fs.existsSync(file)) fs.writeFileSync(file, randomBytes(24).toString('base64url'), { mode: 0o600 });
  return fs.readFileSync(file, 'utf8').trim();
}

/** The environment the example flows read: where the hub is, its folders, the trust systems and their exports. */
export function exampleEnv(
  hub: { host: string; port: number; username: string; fingerprint: string },
  seeded: Seeded,
  url: (system: System) => string,
  rosterCsvDir: string,
  identity: { url: string; csvDir: string; refusedDir?: string } = { url: '', csvDir: '' },
  more: { auditLog?: string; ohRefusedDir?: string } = {},
): Record<string, string> {
  return {
    ESR_HUB_HOST: hub.host,
    ESR_HUB_PORT: String(hub.port),
    ESR_HUB_USER: hub.username,
    ESR_HUB_FINGERPRINT: hub.fingerprint,
    ESR_VPD: seeded.trust.vpd,
    ESR_ROSTER_FOLDER: FEEDS.rostering,
    ESR_EXPENSES_FOLDER: FEEDS.expenses,
    ESR_OH_FOLDER: FEEDS.oh,
    ROSTER_URL: url('roster/staff'),
    ROSTER_CSV_DIR: rosterCsvDir,
    ROSTER_PAY_CSV: seeded.exports.rosterPay,
    ROSTER_ABSENCE_CSV: seeded.exports.rosterAbsences,
    ESR_ABSENCE_LAYOUT: path.join(ROOT, 'layouts', 'absence-inbound.example.json'),
    EXPENSES_URL: url('expenses/staff'),
    EXPENSE_CLAIMS_CSV: seeded.exports.expenseClaims,
    OH_STAFF_URL: url('oh/staff'),
    OH_CLEARANCE_URL: url('oh/clearance'),
    OH_RESULTS_CSV: seeded.exports.ohResults,
    OH_OUTBOUND_LAYOUT: path.join(ROOT, 'layouts', 'oh-outbound.example.json'),
    OH_INBOUND_LAYOUT: path.join(ROOT, 'layouts', 'oh-inbound.example.json'),
    OH_REFUSED_DIR: more.ohRefusedDir ?? '',
    ESR_IDENTITY_FOLDER: FEEDS.identity,
    IDENTITY_SCIM_URL: identity.url,
    IDENTITY_AD_CSV_DIR: identity.csvDir,
    IDENTITY_REFUSED_DIR: identity.refusedDir ?? '',
    ESR_AUDIT_LOG: more.auditLog ?? '',
  };
}

export async function startDemo(options: DemoOptions): Promise<Demo> {
  await checkPortFree(options.port); // before anything is wiped: a demo may already be running there
  const dir = path.resolve(options.dir);
  const hubRoot = path.join(dir, 'hub');
  const systems = path.join(dir, 'trust-systems');
  // Each start plays the same story again: a fresh hub, fresh trust systems and fresh ESR state (the ledgers of files
  // taken, the staff snapshots and the sequence numbers belong to the hub they were kept for). The flows are kept.
  fs.rmSync(hubRoot, { recursive: true, force: true });
  fs.rmSync(systems, { recursive: true, force: true });
  fs.rmSync(path.join(dir, 'node-red', 'esr-state'), { recursive: true, force: true });
  const auditLog = path.join(dir, 'audit.log');
  fs.rmSync(auditLog, { force: true }); // the story of this start's files only
  fs.mkdirSync(path.join(dir, 'keys'), { recursive: true });
  const seeded = await seedDemo(hubRoot, path.join(systems, 'exports'), { staff: options.staff, today: options.today });
  const user = keyPair(path.join(dir, 'keys', 'demo-user.json'));
  const host = keyPair(path.join(dir, 'keys', 'demo-hub-host.json'));
  const hub = await startHub({ root: hubRoot, username: 'esr-demo', authorizedKey: user.publicKey, hostKey: host.privateKey });
  const identityToken = token(path.join(dir, 'keys', 'demo-identity-token'));
  const standIns = await startStandIns(systems, identityToken);
  standIns.identity.refusals.push(...(options.identityRefusals ?? []));
  // The identity feed lost a change file (see seed.ts): its refresh request is answered with a full file there.
  const gdr = startGdrResponder({ root: hubRoot, trust: seeded.trust, days: DAYS, feeds: [FEEDS.identity], firstSequence: DAYS + 2 });
  const rosterCsvDir = path.join(systems, 'roster', 'import');
  const identityCsvDir = path.join(systems, 'identity', 'ad');
  const identityRefusedDir = path.join(systems, 'identity', 'refused');
  const env = exampleEnv(
    { host: hub.host, port: hub.port, username: 'esr-demo', fingerprint: hub.fingerprint },
    seeded,
    (system) => standIns.url(system),
    rosterCsvDir,
    { url: standIns.identity.url, csvDir: identityCsvDir, refusedDir: identityRefusedDir },
    { auditLog, ohRefusedDir: path.join(systems, 'oh', 'refused') },
  );
  fs.mkdirSync(identityCsvDir, { recursive: true });
  let nodeRed: RunningNodeRed | undefined;
  try {
    nodeRed = await startNodeRed(path.join(dir, 'node-red'), options.port, env, { reset: options.reset, logFile: path.join(dir, 'node-red.log') });
    if (!nodeRed.hadFlows) await deployExamples(nodeRed.url, { privateKey: user.privateKey }, options.examples ?? EXAMPLES, { 'i-scim-post': { password: identityToken } });
  } catch (err) {
    await nodeRed?.stop();
    gdr.close();
    await Promise.all([hub.close(), standIns.close()]);
    throw err;
  }
  const running = nodeRed;
  return {
    hub,
    hubRoot,
    standIns,
    standInsDir: systems,
    nodeRed: running,
    deployed: !running.hadFlows,
    seeded,
    rosterCsvDir,
    identityCsvDir,
    identityRefusedDir,
    auditLog,
    gdr,
    stop: async () => {
      await running.stop();
      gdr.close();
      await Promise.all([hub.close(), standIns.close()]);
    },
  };
}
