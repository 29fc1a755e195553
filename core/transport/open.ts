/** The transport a configuration asks for. */
import { FtpsSession, type FtpsSettings } from './ftps';
import { SftpSession, type SftpSettings } from './sftp';
import type { Transport } from './transport';

/** `protocol` 'sftp' (the default) or 'ftps' (FTPS, or plain FTP where its settings allow it). */
export type TransportSettings = ({ protocol?: 'sftp' } & SftpSettings) | ({ protocol: 'ftps' } & FtpsSettings);

export function openTransport(settings: TransportSettings): Transport {
  return settings.protocol === 'ftps' ? new FtpsSession(settings) : new SftpSession(settings);
}
