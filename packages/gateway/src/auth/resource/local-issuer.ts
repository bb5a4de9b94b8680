/**
 * fleetgate's own authorization server as a token issuer (RFC 9068 access tokens, ES256, typ at+jwt).
 * Its public keys are the ones the authorization server publishes at GET /oauth/jwks, read from its key
 * store in DIR/pki/oauth/ (auth/server/signing-key.ts) — nothing is fetched over the network. They are
 * read on first use and again when a token names a kid we do not hold (a rotated key), at most once a
 * second, so a flood of unknown kids costs no more than one file read a second.
 */
import type { KeyObject } from 'node:crypto';
import { KeySet, normaliseType, type TokenIssuer, unknownKey } from './token-issuer.ts';

export interface LocalIssuerOptions {
  issuer: string;
  audience: string;
  /** The authorization server's current public signing keys (each with `kid`); may throw when absent. */
  publicJwks: () => readonly unknown[];
  /** Monotonic milliseconds; performance.now by default. */
  clock?: () => number;
}

const RELOAD_INTERVAL_MS = 1000;

export function localIssuer(options: LocalIssuerOptions): TokenIssuer {
  const clock = options.clock ?? (() => performance.now());
  let keys: KeySet | undefined;
  let loadedAt = Number.NEGATIVE_INFINITY;
  const load = (): KeySet => {
    loadedAt = clock();
    try {
      keys = new KeySet(options.publicJwks());
    } catch {
      keys ??= new KeySet([]); // no key file yet: every token is refused with AUTH_TOKEN_KEY_UNKNOWN
    }
    return keys;
  };
  return {
    kind: 'local',
    issuer: options.issuer,
    audience: options.audience,
    algorithms: ['ES256'],
    tokenTypes: [normaliseType('at+jwt')],
    clientIdClaims: ['client_id'],
    key: async (kid: string | undefined, alg: string): Promise<KeyObject> => {
      let key = (keys ?? load()).find(kid, alg);
      if (key === undefined && clock() - loadedAt >= RELOAD_INTERVAL_MS) key = load().find(kid, alg);
      if (key === undefined) throw unknownKey(kid);
      return key;
    },
  };
}
