/**
 * An external authorization server (Keycloak, Okta, Entra ID) trusted through its RFC 8414 metadata.
 *
 *   1. The metadata document is fetched from the configured https URL; its `issuer` must equal the
 *      configured issuer exactly (RFC 8414 §3.3 — otherwise one server could impersonate another) and its
 *      `jwks_uri` must be https.
 *   2. The JWK Set is fetched from `jwks_uri` and cached; it is refetched (metadata first) when older than
 *      `jwksMaxAgeSeconds`, or when a token names a `kid` we do not have — at most once per
 *      `jwksMinRefreshSeconds`, so a flood of tokens with random kids cannot turn us into a request
 *      amplifier against the issuer. Concurrent refreshes share one fetch.
 *   3. A fetch failure keeps the last good key set (an issuer outage must not log every partner out);
 *      with no key set at all the answer is 503 AUTH_ISSUER_UNAVAILABLE with Retry-After.
 *
 * Keys are never taken from a token: `jku`, `x5u`, `jwk` and `x5c` are refused before this runs.
 * The cache clock is monotonic (not the token clock), so an injected wall clock never freezes it.
 */
import type { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { ExternalIssuerConfig } from '../../config/config.ts';
import { GatewayError } from '../../errors/gateway-error.ts';
import { fetchJson } from './internal/fetch-json.ts';
import { KeySet, normaliseType, type TokenIssuer, unknownKey } from './token-issuer.ts';

export interface ExternalIssuerOptions {
  dataDir: string;
  /** Monotonic milliseconds; performance.now by default. */
  clock?: () => number;
  /** Told about every fetch failure (for the log); never about key material. */
  onFetchError?: (issuer: string, error: unknown) => void;
}

export interface ExternalIssuer extends TokenIssuer {
  /** How many metadata + JWKS fetches were attempted (for tests and metrics). */
  readonly fetches: number;
}

export function externalIssuer(config: ExternalIssuerConfig, options: ExternalIssuerOptions): ExternalIssuer {
  const clock = options.clock ?? (() => performance.now());
  const ca =
    config.caFile === undefined
      ? undefined
      : readFileSync(
          isAbsolute(config.caFile) ? config.caFile : join(options.dataDir, config.caFile),
          'utf8',
        );
  let keys: KeySet | undefined;
  let fetchedAt = Number.NEGATIVE_INFINITY;
  let attemptedAt = Number.NEGATIVE_INFINITY;
  let inFlight: Promise<void> | undefined;
  let fetches = 0;

  const refresh = async (): Promise<void> => {
    attemptedAt = clock();
    fetches += 1;
    try {
      const metadata = await fetchJson(config.metadataUrl, ca);
      if (metadata.issuer !== config.issuer) throw new Error('metadata issuer is not the configured issuer');
      const jwksUri = metadata.jwks_uri;
      if (typeof jwksUri !== 'string' || !jwksUri.startsWith('https://'))
        throw new Error('metadata jwks_uri is not an https URL');
      const jwks = await fetchJson(jwksUri, ca);
      if (!Array.isArray(jwks.keys)) throw new Error('JWK Set has no keys array');
      keys = new KeySet(jwks.keys);
      fetchedAt = clock();
    } catch (error) {
      options.onFetchError?.(config.issuer, error);
    }
  };
  const refreshOnce = (): Promise<void> => {
    inFlight ??= refresh().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };
  const mayRefresh = () => clock() - attemptedAt >= config.jwksMinRefreshSeconds * 1000;

  return {
    kind: 'external',
    issuer: config.issuer,
    audience: config.audience,
    algorithms: config.algorithms,
    tokenTypes: config.tokenTypes.map(normaliseType),
    clientIdClaims: config.clientIdClaim === 'azp' ? ['azp'] : [config.clientIdClaim, 'azp'],
    get fetches() {
      return fetches;
    },
    key: async (kid: string | undefined, alg: string): Promise<KeyObject> => {
      const stale = clock() - fetchedAt >= config.jwksMaxAgeSeconds * 1000;
      if ((keys === undefined || stale) && (mayRefresh() || inFlight !== undefined)) await refreshOnce();
      if (keys === undefined) {
        throw new GatewayError(
          'AUTH_ISSUER_UNAVAILABLE',
          'the issuer metadata or key set cannot be fetched',
          {
            retryAfterSeconds: config.jwksMinRefreshSeconds,
          },
        );
      }
      let key = keys.find(kid, alg);
      if (key === undefined && (mayRefresh() || inFlight !== undefined)) {
        await refreshOnce();
        key = keys.find(kid, alg);
      }
      if (key === undefined) throw unknownKey(kid);
      return key;
    },
  };
}
