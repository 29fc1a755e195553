/**
 * What the editor's debug sidebar shows, read as the editor reads it: Node-RED's comms websocket (`/comms`), topic
 * `debug`. The demo prints the failures in the terminal from it, and the end-to-end tests look for them there.
 */

/** One message of the debug sidebar: from a debug node (`name` is its name), or an error or warning Node-RED logged. */
export interface SidebarMessage {
  /** the debug node, or the node that logged the error */
  id: string;
  /** the tab */
  z?: string;
  name?: string;
  /** for a logged error or warning: the node's type */
  type?: string;
  /** 20 for an error, 30 for a warning Node-RED logged; absent for a debug node's message */
  level?: number;
  /** the text as the sidebar shows it (an object as JSON) */
  msg: string;
  format?: string;
}

export interface SidebarWatch {
  /** every message so far, oldest first */
  messages: SidebarMessage[];
  /** node statuses so far, by node id (the last one each) */
  statuses: Map<string, { text?: string; fill?: string; shape?: string }>;
  close(): void;
}

/**
 * Subscribes to the debug sidebar (and node statuses) of the Node-RED at `url` (no admin login: the demo has none).
 * Resolves once subscribed; `onMessage` sees each debug message as it arrives.
 */
export async function watchSidebar(url: string, onMessage: (m: SidebarMessage) => void = () => {}): Promise<SidebarWatch> {
  const ws = new WebSocket(url.replace(/^http/, 'ws') + '/comms');
  const watch: SidebarWatch = { messages: [], statuses: new Map(), close: () => ws.close() };
  ws.addEventListener('message', (event) => {
    let batch: unknown;
    try {
      batch = JSON.parse(String(event.data));
    } catch {
      return;
    }
    for (const item of Array.isArray(batch) ? batch : [batch]) {
      const { topic, data } = item as { topic?: string; data?: Record<string, unknown> };
      if (!topic || !data) continue;
      if (topic === 'debug') {
        const m = { ...data, msg: typeof data.msg === 'string' ? data.msg : JSON.stringify(data.msg) } as SidebarMessage;
        watch.messages.push(m);
        onMessage(m);
      } else if (topic.startsWith('status/')) {
        watch.statuses.set(topic.slice('status/'.length), data as { text?: string });
      }
    }
  });
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => {
      ws.send(JSON.stringify({ subscribe: 'debug' }));
      ws.send(JSON.stringify({ subscribe: 'status/#' }));
      resolve();
    });
    ws.addEventListener('error', () => reject(new Error(`could not open ${url}/comms`)));
  });
  return watch;
}

/**
 * From the deployed flows: the ids of the debug nodes a Catch node feeds (directly or through switch/change nodes),
 * the ids of all debug nodes, and each tab's label by id.
 */
export async function readDeployed(url: string): Promise<{ failureDebugs: Set<string>; debugs: Set<string>; tabs: Map<string, string> }> {
  const res = await fetch(`${url}/flows`, { headers: { 'Node-RED-API-Version': 'v1' } });
  if (!res.ok) throw new Error(`reading the flows failed: ${res.status}`);
  const nodes = (await res.json()) as { id: string; type: string; label?: string; wires?: string[][] }[];
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const failureDebugs = new Set<string>();
  const seen = new Set<string>();
  const visit = (id: string) => {
    if (seen.has(id)) return;
    seen.add(id);
    const n = byId.get(id);
    if (!n) return;
    if (n.type === 'debug') failureDebugs.add(id);
    else for (const next of (n.wires ?? []).flat()) visit(next);
  };
  for (const n of nodes) if (n.type === 'catch') for (const next of (n.wires ?? []).flat()) visit(next);
  return { failureDebugs, debugs: new Set(nodes.filter((n) => n.type === 'debug').map((n) => n.id)), tabs: new Map(nodes.filter((n) => n.type === 'tab').map((n) => [n.id, n.label ?? n.id])) };
}

/** One line for the terminal: what failed, where, in a single line of at most 300 characters. */
export function failureLine(m: SidebarMessage, tabs: Map<string, string>): string {
  const where = [m.z ? tabs.get(m.z) : undefined, m.name || m.type].filter(Boolean).join(': ');
  const text = m.msg.replace(/\s+/g, ' ').trim();
  return `${where}: ${text.length > 300 ? text.slice(0, 299) + '…' : text}`;
}
