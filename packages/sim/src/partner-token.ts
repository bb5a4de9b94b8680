/**
 * How a TMS partner holds a sender-constrained OAuth access token for the control plane (issue 4): it
 * obtains one from POST /oauth/token with client_credentials, authenticating with its partner certificate
 * (tls_client_auth, RFC 8705 §2.1), bound either to a DPoP key (RFC 9449; the default) or to that
 * certificate (RFC 8705 §3). It refreshes the token before it expires (there are no refresh tokens for
 * machine clients: a new client_credentials grant), signs a fresh DPoP proof for every request (with
 * `ath` for the resource server), and keeps the server's latest DPoP nonce — the token endpoint and the
 * tender API share one origin, so one nonce serves both.
 *
 * Proofs are built with node:crypto (ES256, IEEE P1363 signatures over the exact header.claims input),
 * so the simulator produces real, verifiable proofs without a JOSE dependency. The DPoP private key never
 * leaves this object.
 */
import {
  createHash,
  generateKeyPairSync,
  type KeyObject,
  randomUUID,
  sign,
  X509Certificate,
} from 'node:crypto';

export type TokenBinding = 'dpop' | 'mtls';

/** One HTTP exchange, as the token source needs it: the transport is the caller's (mTLS agent). */
export type Exchange = (
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
) => Promise<{
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
}>;

export interface PartnerTokenOptions {
  /** The control plane's origin as the client addresses it, e.g. https://localhost:8443. */
  origin: string;
  clientId: string;
  scope: string;
  binding: TokenBinding;
  exchange: Exchange;
  now?: () => number;
}

interface DpopKeyPair {
  privateKey: KeyObject;
  jwk: Record<string, unknown>;
}

interface HeldToken {
  value: string;
  type: string;
  refreshAt: number;
}

const b64u = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** The partner id in a fleetgate partner certificate's SAN URI (urn:fleetgate:partner:<id>). */
export function partnerIdOf(certificatePem: string): string {
  const san = new X509Certificate(certificatePem).subjectAltName ?? '';
  const match = /URI:urn:fleetgate:partner:([A-Za-z0-9][A-Za-z0-9._-]{0,63})(?:,|$)/.exec(san);
  if (match === null) throw new Error('the certificate names no fleetgate partner');
  return match[1] as string;
}

export class PartnerTokenSource {
  readonly #options: PartnerTokenOptions;
  readonly #now: () => number;
  readonly #dpopKey: DpopKeyPair | undefined;
  #token: HeldToken | undefined;
  #pending: Promise<void> | undefined;
  #nonce: string | undefined;
  /** How many tokens were obtained (for the demo's numbers and tests). */
  tokensObtained = 0;

  constructor(options: PartnerTokenOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    if (options.binding === 'dpop') {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const { kty, crv, x, y } = publicKey.export({ format: 'jwk' });
      this.#dpopKey = { privateKey, jwk: { kty, crv, x, y } };
    }
  }

  /** Remembers the server's nonce from any response (RFC 9449 §8.2: it may change on any response). */
  observe(headers: Record<string, string | string[] | undefined>): void {
    const nonce = headers['dpop-nonce'];
    if (typeof nonce === 'string' && /^[\x21\x23-\x5b\x5d-\x7e]{1,256}$/.test(nonce)) this.#nonce = nonce;
  }

  /** Forgets the token (it was refused: revoked, or the client suspended and reinstated). */
  invalidate(): void {
    this.#token = undefined;
  }

  #proof(method: string, path: string, accessToken?: string): string {
    const key = this.#dpopKey as DpopKeyPair;
    const header = { typ: 'dpop+jwt', alg: 'ES256', jwk: key.jwk };
    const claims: Record<string, unknown> = {
      jti: randomUUID(),
      htm: method,
      htu: `${this.#options.origin}${path.split('?')[0]}`,
      iat: Math.floor(this.#now() / 1000),
    };
    if (this.#nonce !== undefined) claims.nonce = this.#nonce;
    if (accessToken !== undefined) claims.ath = createHash('sha256').update(accessToken).digest('base64url');
    const input = `${b64u(header)}.${b64u(claims)}`;
    const signature = sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
    return `${input}.${signature.toString('base64url')}`;
  }

  async #obtain(): Promise<void> {
    const body = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: this.#options.clientId,
      scope: this.#options.scope,
    }).toString();
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
      if (this.#dpopKey !== undefined) headers.dpop = this.#proof('POST', '/oauth/token');
      const res = await this.#options.exchange('POST', '/oauth/token', headers, body);
      this.observe(res.headers);
      const { access_token: value, token_type: type, expires_in: lifetime } = res.body;
      if (
        res.status === 200 &&
        typeof value === 'string' &&
        typeof type === 'string' &&
        typeof lifetime === 'number'
      ) {
        // Refresh once 80% of the lifetime has passed (at least 5 s before expiry).
        const margin = Math.max(5, lifetime * 0.2) * 1000;
        this.#token = { value, type, refreshAt: this.#now() + lifetime * 1000 - margin };
        this.tokensObtained += 1;
        return;
      }
      if (res.body.error !== 'use_dpop_nonce') break;
    }
    throw new Error('the token endpoint refused the client credentials grant');
  }

  /** Authorization (and DPoP) headers for one request; obtains or refreshes the token first if due. */
  async headersFor(method: string, path: string): Promise<Record<string, string>> {
    if (this.#token === undefined || this.#now() >= this.#token.refreshAt) {
      this.#pending ??= this.#obtain().finally(() => {
        this.#pending = undefined;
      });
      await this.#pending;
    }
    const token = this.#token as HeldToken;
    if (this.#dpopKey === undefined) return { authorization: `Bearer ${token.value}` };
    return { authorization: `DPoP ${token.value}`, dpop: this.#proof(method, path, token.value) };
  }

  /** What a refusal from the resource server asks of us: a retry with a new nonce, a new token, or nothing. */
  retryAfter(
    status: number,
    headers: Record<string, string | string[] | undefined>,
  ): 'nonce' | 'token' | 'none' {
    if (status !== 401) return 'none';
    const challenge = [headers['www-authenticate'] ?? []].flat().join(', ');
    if (/error="use_dpop_nonce"/.test(challenge)) return 'nonce';
    if (/error="invalid_token"/.test(challenge)) {
      this.invalidate();
      return 'token';
    }
    return 'none';
  }
}
