/**
 * A local HTTPS server playing Keycloak for the external-issuer tests: its own CA (not fleetgate's),
 * RFC 8414 metadata at /realms/fleet/.well-known/oauth-authorization-server, a JWK Set of RS256 keys at
 * /realms/fleet/protocol/openid-connect/certs, and tokens shaped like Keycloak's client-credentials
 * tokens (header typ "JWT", `azp` naming the client, `cnf.x5t#S256` when certificate-bound). Every
 * request is counted, so tests can prove what was (and was not) fetched.
 */
import { generateKeyPairSync, type KeyObject, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, SignJWT } from 'jose';
import { bootstrapPki } from '../../../../src/pki/bootstrap.ts';

export interface FakeKeycloak {
  issuer: string;
  metadataUrl: string;
  /** PEM file of the server's CA, for `caFile`. */
  caFile: string;
  requests: { metadata: number; jwks: number; other: number };
  /** Adds a new current signing key (the old one stays published until `retire`). */
  rotate(): void;
  retireOld(): void;
  /** Overrides for the next metadata answers. */
  metadata: Record<string, unknown>;
  /** When true, every request answers 503. */
  down: boolean;
  sign(claims: Record<string, unknown>, header?: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

interface RsaKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  kid: string;
}

const rsa = (): RsaKey => ({ ...generateKeyPairSync('rsa', { modulusLength: 2048 }), kid: randomUUID() });

export async function startFakeKeycloak(): Promise<FakeKeycloak> {
  const dir = mkdtempSync(join(tmpdir(), 'fleetgate-keycloak-'));
  const manifest = await bootstrapPki(dir, { vehicles: [], partners: [] });
  let keys: RsaKey[] = [rsa()];
  const requests = { metadata: 0, jwks: 0, other: 0 };
  let issuer = '';
  const state = { metadata: {} as Record<string, unknown>, down: false };
  const server: Server = createServer(
    { key: readFileSync(manifest.server.key), cert: readFileSync(manifest.server.chain) },
    (req, res) => {
      const json = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (state.down) return json(503, { error: 'down' });
      if (req.url === '/realms/fleet/.well-known/oauth-authorization-server') {
        requests.metadata += 1;
        return json(200, {
          issuer,
          jwks_uri: `${issuer}/protocol/openid-connect/certs`,
          token_endpoint: `${issuer}/protocol/openid-connect/token`,
          ...state.metadata,
        });
      }
      if (req.url === '/realms/fleet/protocol/openid-connect/certs') {
        requests.jwks += 1;
        void Promise.all(
          keys.map(async (k) => ({
            ...(await exportJWK(k.publicKey)),
            kid: k.kid,
            alg: 'RS256',
            use: 'sig',
          })),
        ).then((jwks) => json(200, { keys: jwks }));
        return undefined;
      }
      requests.other += 1;
      return json(404, { error: 'not found' });
    },
  );
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  issuer = `https://localhost:${(server.address() as AddressInfo).port}/realms/fleet`;
  return {
    issuer,
    metadataUrl: `${issuer}/.well-known/oauth-authorization-server`,
    caFile: manifest.caBundle,
    requests,
    rotate: () => {
      keys = [rsa(), ...keys];
    },
    retireOld: () => {
      keys = keys.slice(0, 1);
    },
    get metadata() {
      return state.metadata;
    },
    set metadata(value) {
      state.metadata = value;
    },
    get down() {
      return state.down;
    },
    set down(value) {
      state.down = value;
    },
    sign: (claims, header = {}) => {
      const key = keys[0] as RsaKey;
      return new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: key.kid, ...header } as { alg: string })
        .sign(key.privateKey);
    },
    close: async () => {
      await new Promise<void>((done) => server.close(() => done()));
      server.closeAllConnections();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Claims of a Keycloak client-credentials token for `clientId`. */
export function keycloakClaims(
  kc: Pick<FakeKeycloak, 'issuer'>,
  clientId: string,
  over: Record<string, unknown> = {},
): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return {
    exp: now + 300,
    iat: now,
    jti: randomUUID(),
    iss: kc.issuer,
    aud: 'urn:fleetgate:control-plane',
    sub: randomUUID(),
    typ: 'Bearer',
    azp: clientId,
    scope: 'tenders:write tenders:read',
    clientHost: '127.0.0.1',
    ...over,
  };
}
