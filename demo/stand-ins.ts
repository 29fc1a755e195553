/**
 * Stand-ins for the trust's own systems (roster, expenses, occupational health): each accepts the JSON the
 * example flows post and keeps it as a file under `dir/<system>/`, so that the demo's output can be looked at.
 * The identity system is a SCIM bulk upload stand-in (see scim-stand-in.ts) under `dir/identity/`.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { scimStandIn, type ScimStandIn } from './scim-stand-in';

export const SYSTEMS = ['roster/staff', 'expenses/staff', 'oh/staff', 'oh/clearance'] as const;
export type System = (typeof SYSTEMS)[number];

export interface StandIns {
  url(system: System): string;
  /** every JSON body received so far, oldest first */
  received(system: System): unknown[];
  /** the next `times` posts to `system` are refused with 503 */
  refuse(system: System, times?: number): void;
  /** the identity system (SCIM bulk upload) and its address */
  identity: ScimStandIn & { url: string };
  close(): Promise<void>;
}

/** Starts the stand-ins; `identityToken` is the bearer token the identity system accepts. */
export async function startStandIns(dir: string, identityToken = 'demo-token'): Promise<StandIns> {
  const identity = scimStandIn(path.join(dir, 'identity'), identityToken);
  const received = new Map<string, unknown[]>(SYSTEMS.map((s) => [s, []]));
  const refusals = new Map<string, number>();
  let count = 0;
  const server = http.createServer((req, res) => {
    const system = (req.url ?? '').replace(/^\/+/, '');
    if (req.url === identity.path) {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => identity.handle(req, Buffer.concat(chunks), res));
      return;
    }
    if (req.method !== 'POST' || !received.has(system)) {
      res.statusCode = 404;
      return res.end();
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if ((refusals.get(system) ?? 0) > 0) {
        refusals.set(system, refusals.get(system)! - 1);
        res.statusCode = 503;
        return res.end('refused (demo)');
      }
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
        received.get(system)!.push(body);
        const folder = path.join(dir, system);
        fs.mkdirSync(folder, { recursive: true });
        fs.writeFileSync(path.join(folder, `received-${String(++count).padStart(3, '0')}.json`), JSON.stringify(body, null, 2));
        res.end('ok');
      } catch {
        res.statusCode = 400;
        res.end('not JSON');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: (system) => `http://127.0.0.1:${port}/${system}`,
    received: (system) => received.get(system)!,
    refuse: (system, times = 1) => refusals.set(system, times),
    identity: Object.assign(identity, { url: `http://127.0.0.1:${port}${identity.path}` }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
