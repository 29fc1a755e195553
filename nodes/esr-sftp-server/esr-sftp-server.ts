/**
 * esr-sftp-server: the connection to an ESR hub (or any SFTP server). Secrets live only in Node-RED
 * credentials; the host key is pinned by fingerprint. One SftpSession per config node, closed on redeploy.
 */
import { SftpSession, type SessionStatus } from '../../core/transport';
import type { NodeAPI } from '../shared/node-red';
import { messagesFor } from '../shared/messages';
import { pinsOf, resolveEnv, settingsFrom, testConnection, type ServerConfig, type ServerNode } from './server-settings';

export = function register(RED: NodeAPI): void {
  function EsrSftpServer(this: ServerNode, config: ServerConfig): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const settings = settingsFrom(config, node.credentials);
    node.target = { host: settings.host, port: settings.port!, username: settings.username, acceptAnyHostKey: settings.acceptAnyHostKey === true, pins: pinsOf(settings.hostFingerprint) };
    let session: SftpSession | undefined;
    const listeners = new Set<(s: SessionStatus) => void>();
    node.session = () => {
      if (!session) {
        session = new SftpSession(settings);
        session.on('status', (s: SessionStatus) => listeners.forEach((l) => l(s)));
      }
      return session;
    };
    node.onStatus = (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    };
    node.on('close', (_removed, done) => {
      const s = session;
      session = undefined;
      listeners.clear();
      (s ? s.close() : Promise.resolve()).then(done, done);
    });
  }

  RED.nodes.registerType('esr-sftp-server', EsrSftpServer as never, {
    credentials: { password: { type: 'password' }, privateKey: { type: 'password' }, passphrase: { type: 'password' } },
  });

  // "Test connection" in the edit dialog: connects with what is in the dialog; stored secrets are used for
  // fields the dialog left unchanged. Answers with the server's fingerprint so that it can be compared and pinned.
  RED.httpAdmin.post('/esr-sftp-server/test', RED.auth.needsPermission('esr-sftp-server.write'), (req, res) => {
    const { credentials: dialogCredentials, ...dialog } = req.body ?? {};
    const body = resolveEnv(dialog as Record<string, unknown>);
    const given = (dialogCredentials ?? {}) as Record<string, string>;
    // Stored secrets go only to the server the deployed node is configured for — the same host, port and user, and
    // the same pinned host keys — never to one typed in the dialog, nor past a pin changed in the dialog.
    const deployed = typeof body.id === 'string' ? (RED.nodes.getNode(body.id) as ServerNode | null) : null;
    const same =
      deployed?.target &&
      deployed.target.host === String(body.host ?? '').trim() &&
      deployed.target.port === (Number(body.port) || 22) &&
      deployed.target.username === String(body.username ?? '').trim() &&
      (deployed.target.acceptAnyHostKey || (body.acceptAnyHostKey !== true && deployed.target.pins === pinsOf(String(body.hostFingerprint ?? ''))));
    const stored = same ? RED.nodes.getCredentials(body.id as string) ?? {} : {};
    const pick = (k: string) => (given[k] === '__PWRD__' || given[k] === undefined ? stored[k] : given[k]);
    const settings = settingsFrom(body as unknown as ServerConfig, { password: pick('password'), privateKey: pick('privateKey'), passphrase: pick('passphrase') });
    if (!settings.host || !settings.username) {
      res.status(400).json({ ok: false, code: 'BAD_REQUEST', message: messagesFor(RED, 'esr-sftp-server')('errors.hostAndUser') });
      return;
    }
    testConnection(settings).then((result) => res.json(result));
  });
};
