/**
 * A server setting that refers to an environment variable that is not set (`${ESR_HUB_HOST}`) fails with
 * "<NAME> is not set" [ENV_NOT_SET], at connect and in *Test connection*, instead of connecting to the literal text.
 */
import { describe, it, before, after, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import { settingsFrom, unsetEnvIn } from '../../nodes/esr-sftp-server/server-settings';
import { collect, NODE_RED_SKIP, helper, nodeFile, onTab, waitFor, type RedNode } from '../support/node-red';

const serverNode = nodeFile('esr-sftp-server');
const inNode = nodeFile('esr-sftp-in');
const UNSET = 'ESR_TEST_NEVER_SET_HOST';

describe('${ENV} in server settings', () => {
  before(() => {
    delete process.env[UNSET];
  });

  it('names the first variable that is not set, for the settings the protocol uses', () => {
    assert.deepEqual(unsetEnvIn({ host: `\${${UNSET}}`, port: 22, username: 'u' }), { name: UNSET, setting: 'host' });
    // A variable set to "" is set (Node-RED passes it on as ""): an empty pin is how a CA-trusted FTPS hub is configured.
    process.env.ESR_TEST_EMPTY = '';
    try {
      assert.equal(unsetEnvIn({ protocol: 'ftps', host: 'h', port: 21, username: 'u', certFingerprint: '${ESR_TEST_EMPTY}' }), undefined);
      assert.deepEqual(unsetEnvIn({ host: 'h', port: '${ESR_TEST_NEVER_SET_PORT}', username: 'u' }), { name: 'ESR_TEST_NEVER_SET_PORT', setting: 'port' });
    } finally {
      delete process.env.ESR_TEST_EMPTY;
    }
    assert.deepEqual(unsetEnvIn({ host: 'sftp.${ESR_TEST_NEVER_SET_DOMAIN}', port: 22, username: 'u' }), { name: 'ESR_TEST_NEVER_SET_DOMAIN', setting: 'host' });
    // The certificate pin is an FTPS setting: an SFTP server does not need it.
    assert.equal(unsetEnvIn({ host: 'h', port: 22, username: 'u', certFingerprint: '${ESR_TEST_NEVER_SET_CERT}' }), undefined);
    assert.deepEqual(unsetEnvIn({ protocol: 'ftps', host: 'h', port: 21, username: 'u', certFingerprint: '${ESR_TEST_NEVER_SET_CERT}' }), { name: 'ESR_TEST_NEVER_SET_CERT', setting: 'certFingerprint' });
    // An unset protocol means SFTP, as the examples document (ESR_HUB_PROTOCOL).
    assert.equal(unsetEnvIn({ protocol: '${ESR_TEST_NEVER_SET_PROTOCOL}', host: 'h', port: 22, username: 'u' }), undefined);
  });

  it('resolves a reference inside a setting from the environment, as Test connection does', () => {
    process.env.ESR_TEST_DOMAIN = 'example.nhs.uk';
    try {
      assert.equal(settingsFrom({ host: 'sftp.${ESR_TEST_DOMAIN}', port: 22, username: 'u' }).host, 'sftp.example.nhs.uk');
    } finally {
      delete process.env.ESR_TEST_DOMAIN;
    }
  });
});

describe('${ENV} in server settings, in Node-RED', { skip: NODE_RED_SKIP }, () => {
  before(async () => new Promise<void>((resolve) => helper.startServer(resolve)));
  afterEach(async () => helper.unload());
  after(async () => new Promise<void>((resolve) => helper.stopServer(resolve)));

  const flow = () =>
    onTab([
      { id: 'srv', type: 'esr-sftp-server', host: `\${${UNSET}}`, port: 22, username: 'esr', hostFingerprint: 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', timeoutSec: 5 },
      { id: 'list', type: 'esr-sftp-in', server: 'srv', operation: 'list', folder: 'Out', folderType: 'str', wires: [['listed']] },
      { id: 'listed', type: 'helper' },
      { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
    ]);

  it('an operation fails at once with "<NAME> is not set" [ENV_NOT_SET]', async () => {
    await helper.load([serverNode, inNode], flow(), { srv: { password: 'secret-pw' } });
    const caught = collect('caught');
    const started = Date.now();
    (helper.getNode('list') as RedNode).receive({});
    await waitFor(() => caught.length === 1, 5000);
    assert.ok(Date.now() - started < 2000, 'no connection attempts, no backoff');
    assert.match(caught[0].error.message, new RegExp(`${UNSET} is not set.*\\[ENV_NOT_SET\\]`));
    assert.doesNotMatch(caught[0].error.message, /ENOTFOUND/);
  });

  it('Test connection answers ENV_NOT_SET naming the variable', async () => {
    await helper.load([serverNode], onTab([{ id: 'srv', type: 'esr-sftp-server', host: 'h', port: 22, username: 'esr' }]));
    const res = await helper.request().post('/esr-sftp-server/test').send({ id: 'srv', host: `\${${UNSET}}`, port: '22', username: 'esr', hostFingerprint: '', credentials: { password: 'x' } });
    assert.equal(res.body.ok, false);
    assert.equal(res.body.code, 'ENV_NOT_SET');
    assert.match(res.body.message, new RegExp(`${UNSET} is not set`));
  });
});
