/**
 * The connection-level path check applies fleetgate's policy where OpenSSL's default would not: a chain
 * whose intermediate has no keyUsage at all (OpenSSL treats an absent keyUsage as "any") verifies with
 * `openssl verify` but is refused by ours; a good chain passes; a revoked leaf is refused. Certificates
 * are made with the real openssl CLI at test time.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditLog } from '../../../src/audit/log.ts';
import { normaliseSerial } from '../../../src/pki/inventory.ts';
import { ConnectionPathCheck } from '../../../src/pki/path/connection-check.ts';

const openssl = (dir: string, args: string[]): string =>
  execFileSync('openssl', args, { cwd: dir, encoding: 'utf8' });

describe('connection path check', () => {
  let dir: string;
  const der = (name: string): Uint8Array =>
    new Uint8Array(new X509Certificate(readFileSync(join(dir, name))).raw);

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'fleetgate-pathcheck-'));
    writeFileSync(
      join(dir, 'ext.cnf'),
      [
        '[root]',
        'basicConstraints = critical, CA:TRUE, pathlen:1',
        'keyUsage = critical, keyCertSign, cRLSign',
        'subjectKeyIdentifier = hash',
        '[good_ca]',
        'basicConstraints = critical, CA:TRUE, pathlen:0',
        'keyUsage = critical, keyCertSign, cRLSign',
        'subjectKeyIdentifier = hash',
        'authorityKeyIdentifier = keyid',
        '[no_ku_ca]',
        'basicConstraints = critical, CA:TRUE, pathlen:0',
        'subjectKeyIdentifier = hash',
        'authorityKeyIdentifier = keyid',
        '[leaf]',
        'basicConstraints = critical, CA:FALSE',
        'keyUsage = critical, digitalSignature',
        'extendedKeyUsage = clientAuth',
        'subjectAltName = URI:urn:fleetgate:partner:acme-tms',
        'authorityKeyIdentifier = keyid',
        '',
      ].join('\n'),
    );
    const key = (name: string) =>
      openssl(dir, [
        'genpkey',
        '-algorithm',
        'EC',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-out',
        `${name}.key`,
      ]);
    for (const n of ['root', 'good', 'noku', 'leaf1', 'leaf2']) key(n);
    openssl(dir, [
      'req',
      '-x509',
      '-new',
      '-key',
      'root.key',
      '-subj',
      '/CN=Test Root',
      '-days',
      '30',
      '-extensions',
      'root',
      '-config',
      'ext.cnf',
      '-out',
      'root.pem',
    ]);
    const ca = (name: string, ext: string) => {
      openssl(dir, ['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${name}`, '-out', `${name}.csr`]);
      openssl(dir, [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'root.pem',
        '-CAkey',
        'root.key',
        '-CAcreateserial',
        '-days',
        '20',
        '-extfile',
        'ext.cnf',
        '-extensions',
        ext,
        '-out',
        `${name}.pem`,
      ]);
    };
    ca('good', 'good_ca');
    ca('noku', 'no_ku_ca');
    const leaf = (name: string, issuer: string) => {
      openssl(dir, ['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${name}`, '-out', `${name}.csr`]);
      openssl(dir, [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        `${issuer}.pem`,
        '-CAkey',
        `${issuer}.key`,
        '-CAcreateserial',
        '-days',
        '10',
        '-extfile',
        'ext.cnf',
        '-extensions',
        'leaf',
        '-out',
        `${name}.pem`,
      ]);
    };
    leaf('leaf1', 'good');
    leaf('leaf2', 'noku');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const checker = (revoked: Set<string> = new Set()) =>
    new ConnectionPathCheck({
      audit: {} as AuditLog,
      now: () => new Date(),
      trustBundle: () => readFileSync(join(dir, 'root.pem'), 'utf8'),
      isRevoked: (serial) => revoked.has(serial),
    });

  it('accepts a chain that meets the policy', () => {
    expect(checker().check([der('leaf1.pem'), der('good.pem'), der('root.pem')])).toMatchObject({ ok: true });
  });

  it('refuses an intermediate without keyUsage that openssl verify accepts', () => {
    const out = openssl(dir, [
      'verify',
      '-CAfile',
      'root.pem',
      '-untrusted',
      'noku.pem',
      '-purpose',
      'sslclient',
      'leaf2.pem',
    ]);
    expect(out).toMatch(/OK/);
    expect(checker().check([der('leaf2.pem'), der('noku.pem'), der('root.pem')])).toMatchObject({
      ok: false,
      code: 'PATH_KEY_USAGE',
      position: 1,
    });
  });

  it('refuses a revoked leaf, and a chain from an unknown anchor', () => {
    const serial = normaliseSerial(new X509Certificate(readFileSync(join(dir, 'leaf1.pem'))).serialNumber);
    expect(checker(new Set([serial])).check([der('leaf1.pem'), der('good.pem')])).toMatchObject({
      ok: false,
      code: 'PATH_REVOKED',
    });
    const foreign = new ConnectionPathCheck({
      audit: {} as AuditLog,
      now: () => new Date(),
      trustBundle: () => readFileSync(join(dir, 'good.pem'), 'utf8'), // not self-signed: no anchor at all
      isRevoked: () => false,
    });
    expect(foreign.check([der('leaf1.pem'), der('good.pem')]).ok).toBe(false);
  });
});
