/**
 * Differential test against a real peer: OpenSSL's `openssl verify` (the verifier the gateway's TLS
 * listeners use in the handshake) and validatePath must agree, valid or not, on chains built at test
 * time with one defect each — at the same event time (`-attime`), for TLS client authentication
 * (`-purpose sslclient`), with CRLs (`-crl_check_all`), at OpenSSL security level 2 (`-auth_level 2`:
 * no SHA-1, no RSA under 2048 bits), and `-x509_strict`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { x509 } from '../../../src/pki/internal/x509-lib.ts';
import { crlRevocationChecker } from '../../../src/pki/path/crl-revocation.ts';
import { validatePath } from '../../../src/pki/path/validate.ts';
import { OPENSSL } from '../helpers.ts';
import {
  hierarchy,
  makeCert,
  makeCrl,
  NOW,
  OID_CLIENT_AUTH,
  OID_SERVER_AUTH,
  rsaKeys,
  serialOf,
  type TestCert,
  unknownExtension,
} from './support.ts';

let dir: string;
let h: Awaited<ReturnType<typeof hierarchy>>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fleetgate-path-'));
  h = await hierarchy();
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function pem(label: string, der: Uint8Array): string {
  const lines =
    Buffer.from(der)
      .toString('base64')
      .match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

let counter = 0;
function file(content: string): string {
  const path = join(dir, `f${counter++}.pem`);
  writeFileSync(path, content);
  return path;
}

interface Case {
  readonly leaf: TestCert;
  readonly intermediates: readonly TestCert[];
  readonly root: TestCert;
  readonly crls?: readonly Uint8Array[];
  readonly time?: Date;
}

function opensslAccepts(c: Case): boolean {
  const args = [
    'verify',
    '-x509_strict',
    '-auth_level',
    '2',
    '-purpose',
    'sslclient',
    '-attime',
    String(Math.floor((c.time ?? NOW).getTime() / 1000)),
    '-CAfile',
    file(pem('CERTIFICATE', c.root.der)),
  ];
  if (c.intermediates.length > 0)
    args.push('-untrusted', file(c.intermediates.map((i) => pem('CERTIFICATE', i.der)).join('')));
  if (c.crls)
    args.push('-crl_check_all', '-CRLfile', file(c.crls.map((crl) => pem('X509 CRL', crl)).join('')));
  args.push(file(pem('CERTIFICATE', c.leaf.der)));
  const result = spawnSync(OPENSSL, args, { encoding: 'utf8' });
  if (result.error) throw result.error;
  return result.status === 0;
}

function weAccept(c: Case): boolean {
  return validatePath({
    chain: [c.leaf.der, ...c.intermediates.map((i) => i.der)],
    trustAnchors: [c.root.der],
    time: c.time ?? NOW,
    purpose: 'clientAuth',
    ...(c.crls ? { revocation: crlRevocationChecker(c.crls) } : {}),
  }).ok;
}

describe('validatePath agrees with openssl verify', () => {
  const cases: [string, () => Promise<Case>, boolean][] = [
    ['a good chain', async () => ({ leaf: h.leaf, intermediates: [h.intermediate], root: h.root }), true],
    [
      'a leaf that expired before the event',
      async () => ({
        leaf: await makeCert({
          subject: 'CN=Old',
          issuer: h.intermediate,
          eku: [OID_CLIENT_AUTH],
          notAfter: new Date('2026-01-01T00:00:00Z'),
        }),
        intermediates: [h.intermediate],
        root: h.root,
      }),
      false,
    ],
    [
      'the same leaf at an event before it expired',
      async () => ({
        leaf: await makeCert({
          subject: 'CN=Old',
          issuer: h.intermediate,
          eku: [OID_CLIENT_AUTH],
          notAfter: new Date('2026-01-01T00:00:00Z'),
        }),
        intermediates: [h.intermediate],
        root: h.root,
        time: new Date('2025-12-01T00:00:00Z'),
      }),
      true,
    ],
    [
      'an intermediate without CA:TRUE',
      async () => {
        const notCa = await makeCert({
          subject: 'CN=Not CA',
          issuer: h.root,
          ca: false,
          keyUsage: x509.KeyUsageFlags.keyCertSign,
        });
        return {
          leaf: await makeCert({ subject: 'CN=L', issuer: notCa, eku: [OID_CLIENT_AUTH] }),
          intermediates: [notCa],
          root: h.root,
        };
      },
      false,
    ],
    [
      'a path longer than pathLenConstraint allows',
      async () => {
        const sub = await makeCert({ subject: 'CN=Sub', issuer: h.intermediate, ca: true });
        return {
          leaf: await makeCert({ subject: 'CN=L', issuer: sub, eku: [OID_CLIENT_AUTH] }),
          intermediates: [sub, h.intermediate],
          root: h.root,
        };
      },
      false,
    ],
    [
      'a serverAuth-only leaf used for client authentication',
      async () => ({
        leaf: await makeCert({ subject: 'CN=S', issuer: h.intermediate, eku: [OID_SERVER_AUTH] }),
        intermediates: [h.intermediate],
        root: h.root,
      }),
      false,
    ],
    [
      'an unknown critical extension',
      async () => ({
        leaf: await makeCert({
          subject: 'CN=X',
          issuer: h.intermediate,
          eku: [OID_CLIENT_AUTH],
          extensions: [unknownExtension(true)],
        }),
        intermediates: [h.intermediate],
        root: h.root,
      }),
      false,
    ],
    [
      'a SHA-1 signature',
      async () => {
        const root = await makeCert({
          subject: 'CN=SHA1 Root',
          ca: true,
          keys: await rsaKeys(2048, 'SHA-1'),
        });
        return {
          leaf: await makeCert({ subject: 'CN=L', issuer: root, eku: [OID_CLIENT_AUTH] }),
          intermediates: [],
          root,
        };
      },
      false,
    ],
    [
      'current CRLs that do not list the chain',
      async () => ({
        leaf: h.leaf,
        intermediates: [h.intermediate],
        root: h.root,
        crls: [await makeCrl({ issuer: h.root }), await makeCrl({ issuer: h.intermediate })],
      }),
      true,
    ],
    [
      'a CRL that lists the leaf',
      async () => ({
        leaf: h.leaf,
        intermediates: [h.intermediate],
        root: h.root,
        crls: [
          await makeCrl({ issuer: h.root }),
          await makeCrl({ issuer: h.intermediate, revoked: [serialOf(h.leaf)] }),
        ],
      }),
      false,
    ],
    [
      'a missing CRL for the intermediate',
      async () => ({
        leaf: h.leaf,
        intermediates: [h.intermediate],
        root: h.root,
        crls: [await makeCrl({ issuer: h.intermediate })],
      }),
      false,
    ],
  ];

  it.each(cases)('%s', async (_name, build, valid) => {
    const c = await build();
    expect({ openssl: opensslAccepts(c), fleetgate: weAccept(c) }).toEqual({
      openssl: valid,
      fleetgate: valid,
    });
  });
});
