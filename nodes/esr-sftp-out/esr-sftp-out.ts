/**
 * esr-sftp-out: put a file atomically (temporary name, then rename), or move/rename, delete, make a folder.
 * Paths and names may come from the message; the connection is the config node's.
 */
import * as path from 'node:path';
import { checkName, checkRelative, type IfExists, type UploadMode } from '../../core/transport';
import { evaluate, isReadable, type Node, type NodeAPI } from '../shared/node-red';
import { OwnStatus } from '../shared/status';
import { messagesFor } from '../shared/messages';
import type { ServerNode } from '../esr-sftp-server/server-settings';

interface OutConfig {
  name?: string;
  server: string;
  operation: 'put' | 'move' | 'delete' | 'mkdir';
  folder: string;
  folderType: string;
  filename: string;
  filenameType: string;
  targetFolder: string;
  targetFolderType: string;
  targetName: string;
  targetNameType: string;
  ifExists: IfExists;
  mkdirs: boolean;
  upload?: UploadMode;
  tempFolder?: string;
  doneMarker?: string;
}

export = function register(RED: NodeAPI): void {
  const t = messagesFor(RED, 'esr-sftp-out');
  const connection = messagesFor(RED, 'esr-sftp-server');
  function EsrSftpOut(this: Node, config: OutConfig): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const server = RED.nodes.getNode(config.server) as ServerNode | null;
    if (!server) {
      node.status({ fill: 'red', shape: 'ring', text: t('status.noServer') });
      node.on('input', (_msg, _send, done) => done(new Error(t('errors.noServer'))));
      return;
    }
    // Its own status: the connection's states, its own transfers and its own errors (see OwnStatus).
    const own = new OwnStatus(node);
    const { session, detach: unsubscribe } = server.attach((s) => own.session(s, connection));

    node.on('input', (msg, send, done) => {
      const work = async () => {
        // Checked before they are joined, so that "../x" or "/x" in a name can never leave the folder.
        const folder = checkRelative(String((await evaluate(RED, node, config.folder || '.', config.folderType || 'str', msg)) ?? '.') || '.', 'folder');
        const name = async () => {
          const n = String((await evaluate(RED, node, config.filename || 'filename', config.filenameType || 'msg', msg)) ?? '');
          if (!n) throw new Error(t('errors.noFileName'));
          return checkName(n);
        };
        const op = config.operation || 'put';
        if (op === 'put') {
          const target = path.posix.join(folder, await name());
          const payload = msg.payload;
          if (!Buffer.isBuffer(payload) && typeof payload !== 'string' && !isReadable(payload)) {
            throw new Error(t('errors.badPayload'));
          }
          const result = await session.put(target, payload, {
            ifExists: config.ifExists || 'fail',
            mkdirs: config.mkdirs !== false,
            mode: config.upload || 'temp-name',
            tempFolder: config.tempFolder || undefined,
            doneMarker: config.doneMarker || undefined,
          });
          own.succeed({ fill: 'green', shape: 'dot', text: t(result.skipped ? 'status.skipped' : 'status.put', { file: path.posix.basename(result.path) }) });
          send({ ...msg, filename: path.posix.basename(result.path), sftp: { operation: 'put', ...result } });
        } else if (op === 'move') {
          if (config.ifExists === 'skip' || config.ifExists === 'suffix') throw new Error(t('errors.moveIfExists'));
          const from = path.posix.join(folder, await name());
          const toFolder = checkRelative(String((await evaluate(RED, node, config.targetFolder || '.', config.targetFolderType || 'str', msg)) ?? '.') || '.', 'target folder');
          const toName = checkName(String((await evaluate(RED, node, config.targetName || '', config.targetNameType || 'str', msg)) ?? '') || path.posix.basename(from));
          const to = path.posix.join(toFolder, toName);
          await session.rename(from, to, { overwrite: config.ifExists === 'overwrite', mkdirs: config.mkdirs !== false });
          send({ ...msg, filename: toName, sftp: { operation: 'move', from, path: to } });
        } else if (op === 'delete') {
          const target = path.posix.join(folder, await name());
          await session.delete(target);
          send({ ...msg, sftp: { operation: 'delete', path: target } });
        } else {
          await session.mkdir(folder);
          send({ ...msg, sftp: { operation: 'mkdir', path: folder } });
        }
      };
      work().then(
        () => {
          own.succeed(); // a failed put stays red until one goes through
          done();
        },
        (err) => {
          // A stream not uploaded is ended, so that its source lets go (esr-write's temporary file is removed).
          if (isReadable(msg.payload) && !msg.payload.destroyed) msg.payload.destroy();
          own.fail(err, t('status.failed'));
          done(err);
        },
      );
    });

    node.on('close', (_removed, done) => {
      unsubscribe();
      done();
    });
  }

  RED.nodes.registerType('esr-sftp-out', EsrSftpOut as never);
};
