/**
 * esr-sftp-server: the connection to an ESR hub over SFTP or FTPS. Secrets live only in Node-RED credentials;
 * the host key or certificate is pinned by fingerprint. One transport per config node, closed on redeploy.
 */
import { openTransport, type Transport } from '../../core/transport';
import type { NodeAPI } from '../shared/node-red';
import { messagesFor } from '../shared/messages';
import { StatusRouter } from './status-routing';
import { envNotSetError, resolveEnv, settingsFrom, targetOf, testConnection, UnavailableTransport, unsetEnvIn, type ServerConfig, type ServerNode } from './server-settings';

export = function register(RED: NodeAPI): void {
  function EsrSftpServer(this: ServerNode, config: ServerConfig): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const settings = settingsFrom(config, node.credentials);
    node.target = targetOf(settings);
    const unset = unsetEnvIn(config); // then every operation fails with "<NAME> is not set" [ENV_NOT_SET]
    let session: Transport | undefined;
    let router: StatusRouter | undefined;
    node.session = () => {
      if (!session) {
        session = unset ? new UnavailableTransport(envNotSetError(unset, targetOf(settings).protocol)) : openTransport(settings);
        router = new StatusRouter(session);
      }
      return session;
    };
    node.attach = (listener) => {
      node.session();
      return router!.attach(listener);
    };
    node.on('close', (_removed, done) => {
      const s = session;
      session = undefined;
      router?.clear();
      router = undefined;
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
    const unset = unsetEnvIn(body as unknown as ServerConfig);
    if (unset) {
      const e = envNotSetError(unset, targetOf(settingsFrom(body as unknown as ServerConfig)).protocol);
      res.json({ ok: false, protocol: e.protocol, code: e.code, message: e.message });
      return;
    }
    const given = (dialogCredentials ?? {}) as Record<string, string>;
    // Stored secrets go only to the server the deployed node is configured for — the same protocol, host, port and
    // user, and the same pinned host keys or certificates — never to one typed in the dialog, nor past a changed pin.
    const deployed = typeof body.id === 'string' ? (RED.nodes.getNode(body.id) as ServerNode | null) : null;
    const candidate = targetOf(settingsFrom(body as unknown as ServerConfig));
    const was = deployed?.target;
    const same =
      was &&
      was.protocol === candidate.protocol &&
      was.host === candidate.host &&
      was.port === candidate.port &&
      was.username === candidate.username &&
      (was.insecure || (!candidate.insecure && was.pins === candidate.pins));
    const stored = same ? RED.nodes.getCredentials(body.id as string) ?? {} : {};
    const pick = (k: string) => (given[k] === '__PWRD__' || given[k] === undefined ? stored[k] : given[k]);
    const settings = settingsFrom(body as unknown as ServerConfig, { password: pick('password'), privateKey: pick('privateKey'), passphrase: pick('passphrase') });
    if (!settings.host || !settings.username) {
      res.status(400).json({ ok: false, code: 'BAD_REQUEST', message: messagesFor(RED, 'esr-sftp-server')('errors.hostAndUser') });
      return;
    }
    const folders = Array.isArray(body.folders) ? (body.folders as unknown[]).map(String) : [];
    testConnection(settings, folders, body.tryWrites === true).then((result) => res.json(result));
  });
};
