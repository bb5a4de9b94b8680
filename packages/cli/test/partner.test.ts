/**
 * `fleetgate partner add|list|suspend|rotate-keys` as an operator runs them: real processes on Node 24
 * against a data directory made by the real `fleetgate init`, then a real gateway on it (started after
 * the commands: PGlite is single-process) issuing tokens to the partners they registered — and refusing
 * the suspended one and the superseded certificate.
 */
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@fleetgate/gateway/config/load';
import { startGateway } from '@fleetgate/gateway/gateway';
import { exportJWK } from 'jose';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleetgate } from './support/cli.ts';

/** The operator's login name is recorded as the actor of each command. */
const run = (args: string[]) => fleetgate(args, { USER: 'ops-alice' });

function tokenRequest(url: string, tls: { ca: string; cert: string; key: string }, clientId: string) {
  return new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
    const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId }).toString();
    const req = request(
      url,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(body),
        },
        ...tls,
        agent: false,
        servername: 'localhost',
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => {
          text += c.toString();
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('fleetgate partner', () => {
  let root: string;
  let dir: string;
  let jwksFile: string;
  const partner = (args: string[]) => run(['partner', ...args, '--data-dir', dir]);

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'fleetgate-partner-'));
    dir = join(root, 'gw');
    const init = await run(['init', '--data-dir', dir, '--vehicles', '1']);
    expect(init.code).toBe(0);
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    jwksFile = join(root, 'jwks.json');
    writeFileSync(
      jwksFile,
      JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' }] }),
    );
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('lists the configured partner, seeded as a tls_client_auth client', async () => {
    const list = await partner(['list', '--json']);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.out)).toEqual([
      expect.objectContaining({
        clientId: 'acme-tms',
        tenant: 'acme',
        status: 'active',
        authMethod: 'tls_client_auth',
        scopes: ['tenders:write', 'tenders:read', 'tracking:read'],
        tokenLifetimeSeconds: 300,
        policy: '{}',
      }),
    ]);
  });

  it('adds a private_key_jwt partner with scopes, lifetime and a lane / equipment / time-window policy', async () => {
    const add = await partner([
      'add',
      'jwt-tms',
      '--tenant',
      'jwt',
      '--auth',
      'private_key_jwt',
      '--jwks',
      jwksFile,
      '--scopes',
      'tenders:write,tenders:read',
      '--lifetime',
      '120',
      '--lanes',
      'DAL-HOU',
      '--equipment',
      'reefer',
      '--window',
      '22:00-06:00@America/Chicago',
    ]);
    expect(add.err).toBe('');
    expect(add.code).toBe(0);
    expect(add.out).toMatch(/registered jwt-tms {2}tenant jwt {2}active {2}private_key_jwt/);
    const list = JSON.parse((await partner(['list', '--json'])).out) as Array<Record<string, unknown>>;
    const jwt = list.find((c) => c.clientId === 'jwt-tms');
    expect(jwt).toMatchObject({
      scopes: ['tenders:write', 'tenders:read'],
      tokenLifetimeSeconds: 120,
      keyIds: ['k1'],
    });
    expect(JSON.parse(jwt?.policy as string)).toEqual({
      lanes: ['DAL-HOU'],
      equipment: ['reefer'],
      timeWindows: [{ start: '22:00', end: '06:00', timeZone: 'America/Chicago' }],
    });
  });

  it('refuses bad input with exit 2 and an existing id with exit 1, writing nothing', async () => {
    const privateFile = join(root, 'private.json');
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeFileSync(privateFile, JSON.stringify({ keys: [await exportJWK(privateKey)] }));
    const cases: Array<[string[], RegExp]> = [
      [
        ['add', 'x1', '--tenant', 't', '--auth', 'private_key_jwt', '--jwks', privateFile],
        /private key material/,
      ],
      [['add', 'x2', '--tenant', 't', '--auth', 'private_key_jwt'], /needs the client public keys/],
      [['add', 'x3', '--tenant', 't', '--scopes', 'tenders:write', 'openid'], /scopes must be/],
      [['add', 'x4', '--tenant', 't', '--lanes', 'NOPE'], /unknown lane/],
      [['add', 'x5', '--tenant', 't', '--window', '22:00-06:00@Mars/Olympus'], /invalid policy/],
      [['add', 'x6', '--tenant', 't', '--lifetime', '99999'], /30 to 3600/],
      [['add', '../x7', '--tenant', 't'], /client id must match/],
      [['add', 'x8', '--tenant', 't', '--auth', 'client_secret_basic'], /Allowed choices/],
    ];
    for (const [args, message] of cases) {
      const res = await partner(args);
      expect(res.code, args.join(' ')).toBe(2);
      expect(res.err, args.join(' ')).toMatch(message);
    }
    const exists = await partner(['add', 'acme-tms', '--tenant', 'acme']);
    expect(exists.code).toBe(1);
    expect(exists.err).toMatch(/already registered/);
    const ids = (JSON.parse((await partner(['list', '--json'])).out) as Array<{ clientId: string }>).map(
      (c) => c.clientId,
    );
    expect(ids).toEqual(['acme-tms', 'jwt-tms']);
  });

  it('adds a tls_client_auth partner with a certificate from the CA (key 0600), and rotates it', async () => {
    const add = await partner(['add', 'cert-tms', '--tenant', 'certs']);
    expect(add.code).toBe(0);
    expect(add.out).toMatch(/certificate serial [0-9a-f]+/);
    const pdir = join(dir, 'pki', 'partners', 'cert-tms');
    expect(statSync(join(pdir, 'key.pem')).mode & 0o777).toBe(0o600);
    const first = new X509Certificate(readFileSync(join(pdir, 'cert.pem')));
    expect(first.subjectAltName).toBe('URI:urn:fleetgate:partner:cert-tms');
    const rotate = await partner(['rotate-keys', 'cert-tms']);
    expect(rotate.code).toBe(0);
    expect(rotate.out).toMatch(/previous certificate [0-9a-f]+ revoked \(superseded\)/);
    const second = new X509Certificate(readFileSync(join(pdir, 'cert.pem')));
    expect(second.serialNumber).not.toBe(first.serialNumber);
    expect(
      second.checkPrivateKey(
        (await import('node:crypto')).createPrivateKey(readFileSync(join(pdir, 'key.pem'))),
      ),
    ).toBe(true);
    const jwks = await partner(['rotate-keys', 'jwt-tms', '--jwks', jwksFile]);
    expect(jwks.code).toBe(0);
    expect(jwks.out).toMatch(/replaced the registered keys of jwt-tms/);
    expect((await partner(['rotate-keys', 'jwt-tms'])).code).toBe(2);
    expect((await partner(['rotate-keys', 'nobody'])).code).toBe(1);
  });

  it('suspends a partner (revoking its tokens) and the gateway then issues to the others only', async () => {
    const suspend = await partner(['suspend', 'acme-tms']);
    expect(suspend.code).toBe(0);
    expect(suspend.out).toMatch(/suspended acme-tms: 0 live token\(s\) revoked/);
    expect((await partner(['suspend', 'nobody'])).code).toBe(1);
    const config = loadConfig(dir, {});
    for (const l of Object.values(config.listeners)) {
      l.host = '127.0.0.1';
      l.port = 0;
    }
    const gateway = await startGateway({ dataDir: dir, config, logger: pino({ level: 'silent' }) });
    try {
      const url = `https://127.0.0.1:${gateway.addresses.controlPlane.port}/oauth/token`;
      const ca = readFileSync(join(dir, 'pki', 'ca.pem'), 'utf8');
      const creds = (id: string) => ({
        ca,
        cert: readFileSync(join(dir, 'pki', 'partners', id, 'chain.pem'), 'utf8'),
        key: readFileSync(join(dir, 'pki', 'partners', id, 'key.pem'), 'utf8'),
      });
      const cert = await tokenRequest(url, creds('cert-tms'), 'cert-tms');
      expect(cert.status).toBe(200);
      expect(cert.body.token_type).toBe('Bearer');
      const acme = await tokenRequest(url, creds('acme-tms'), 'acme-tms');
      expect(acme.status).toBe(400);
      expect(acme.body).toMatchObject({ error: 'unauthorized_client', code: 'OAUTH_CLIENT_SUSPENDED' });
      const entries = (
        await gateway.store.query<{ entry: string }>('SELECT entry FROM audit_entries ORDER BY idx')
      ).map((r) => JSON.parse(r.entry) as { class: string; actor: { id: string } });
      const classes = entries.map((e) => e.class);
      for (const cls of [
        'auth.client.registered',
        'auth.client.keys_rotated',
        'auth.client.suspended',
        'pki.certificate.issued',
        'pki.certificate.revoked',
      ]) {
        expect(classes).toContain(cls);
      }
      expect(entries.find((e) => e.class === 'auth.client.suspended')?.actor.id).toBe('ops-alice');
    } finally {
      await gateway.close();
    }
    const verify = await run(['audit', 'verify', '--data-dir', dir]);
    expect(verify.code).toBe(0);
  });
});
