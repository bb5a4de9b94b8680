/**
 * A simulated TMS (a shipper's or broker's system) tendering loads to the fleet over mTLS with its
 * partner certificate and a sender-constrained OAuth access token (issue 4): DPoP-bound by default,
 * certificate-bound on request, obtained from the gateway's token endpoint and refreshed before it
 * expires (partner-token.ts). Its mix is realistic on purpose: most tenders on lanes the fleet serves, some on
 * lanes it does not, some hazmat or overweight — so the gateway's decisions and reason codes show.
 */
import { Agent, request } from 'node:https';
import { HUBS } from './geo.ts';
import { type Exchange, PartnerTokenSource, partnerIdOf, type TokenBinding } from './partner-token.ts';

export interface PartnerCredentials {
  /** PEM chain (leaf + intermediate), PEM private key, PEM trust bundle. */
  cert: string;
  key: string;
  ca: string;
}

export interface TenderBody {
  reference: string;
  origin: string;
  destination: string;
  equipment: 'dry_van' | 'reefer' | 'flatbed' | 'tanker';
  weightKg: number;
  hazmat: boolean;
  pickupWindow: { start: string; end: string };
  deliverBy: string;
}

export interface TenderResponse {
  status: number;
  body: Record<string, unknown>;
}

export interface TmsClientOptions {
  /** 'dpop' (default) or 'mtls' (certificate-bound). */
  binding?: TokenBinding;
  /** Defaults to the partner id in the certificate's SAN URI. */
  clientId?: string;
  scope?: string;
  /** The client's clock (ms since the epoch) for proofs and refresh; Date.now by default. */
  now?: () => number;
}

export interface TmsStats {
  sent: number;
  accepted: number;
  declined: number;
  /** Decided later by a human (pending_review). */
  pendingReview: number;
  failed: number;
  /** GET /v1/loads/{id}/tracking answered 200. */
  trackingReads: number;
}

const LANES = [
  [HUBS.dallas, HUBS.houston],
  [HUBS.houston, HUBS.dallas],
  [HUBS.fortWorth, HUBS.elPaso],
  [HUBS.elPaso, HUBS.fortWorth],
  [HUBS.dallas, HUBS.chicago],
  [HUBS.houston, HUBS.atlanta],
] as const;

export function randomTender(random: () => number, now: Date, sequence: number, prefix = 'ACME'): TenderBody {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const [origin, destination] = random() < 0.85 ? pick(LANES.slice(0, 4)) : pick(LANES.slice(4));
  // Mostly within two days; now and then a load booked ahead (past a planning horizon: a human decides).
  const hoursAhead = random() < 0.1 ? 96 + Math.floor(random() * 48) : 1 + Math.floor(random() * 48);
  const start = new Date(now.getTime() + hoursAhead * 3_600_000);
  return {
    reference: `${prefix}-${now.getTime().toString(36)}-${sequence}`,
    origin: origin.name,
    destination: destination.name,
    equipment: random() < 0.95 ? pick(['dry_van', 'reefer'] as const) : pick(['flatbed', 'tanker'] as const),
    weightKg: random() < 0.95 ? 5_000 + Math.floor(random() * 14_000) : 24_000,
    hazmat: random() < 0.04,
    pickupWindow: {
      start: start.toISOString(),
      end: new Date(start.getTime() + 4 * 3_600_000).toISOString(),
    },
    deliverBy: new Date(start.getTime() + 20 * 3_600_000).toISOString(),
  };
}

export class TmsClient {
  readonly #agent: Agent;
  readonly #baseUrl: URL;
  readonly tokens: PartnerTokenSource;

  constructor(baseUrl: string, credentials: PartnerCredentials, options: TmsClientOptions = {}) {
    this.#baseUrl = new URL(baseUrl);
    this.#agent = new Agent({
      keepAlive: true,
      maxSockets: 4,
      minVersion: 'TLSv1.3',
      cert: credentials.cert,
      key: credentials.key,
      ca: credentials.ca,
    });
    this.tokens = new PartnerTokenSource({
      origin: this.#baseUrl.origin,
      clientId: options.clientId ?? partnerIdOf(credentials.cert),
      scope: options.scope ?? 'tenders:write tenders:read tracking:read',
      binding: options.binding ?? 'dpop',
      exchange: this.#exchange,
      ...(options.now === undefined ? {} : { now: options.now }),
    });
  }

  postTender(body: TenderBody): Promise<TenderResponse> {
    return this.#send('POST', '/v1/tenders', JSON.stringify(body));
  }

  getTender(id: string): Promise<TenderResponse> {
    return this.#send('GET', `/v1/tenders/${encodeURIComponent(id)}`);
  }

  getTracking(id: string): Promise<TenderResponse> {
    return this.#send('GET', `/v1/loads/${encodeURIComponent(id)}/tracking`);
  }

  /** Any control-plane API call with the bound token (JSON body when given). */
  call(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<TenderResponse> {
    return this.#send(method, path, body === undefined ? undefined : JSON.stringify(body));
  }

  /** A tender API call with a bound token: retried once for a new DPoP nonce or a new token. */
  /** A raw body (e.g. an X12 interchange) with its content type; the answer parsed as JSON when it is. */
  send(method: 'POST' | 'PUT', path: string, payload: string, contentType: string): Promise<TenderResponse> {
    return this.#send(method, path, payload, contentType);
  }

  async #send(
    method: string,
    path: string,
    payload?: string,
    contentType = 'application/json',
  ): Promise<TenderResponse> {
    const json = payload === undefined ? {} : { 'content-type': contentType };
    let res = await this.#exchange(
      method,
      path,
      { ...json, ...(await this.tokens.headersFor(method, path)) },
      payload,
    );
    if (this.tokens.retryAfter(res.status, res.headers) !== 'none') {
      res = await this.#exchange(
        method,
        path,
        { ...json, ...(await this.tokens.headersFor(method, path)) },
        payload,
      );
    }
    return { status: res.status, body: res.body };
  }

  readonly #exchange: Exchange = (method, path, headers, payload) =>
    new Promise((resolve, reject) => {
      const req = request(
        new URL(path, this.#baseUrl),
        {
          method,
          agent: this.#agent,
          headers:
            payload === undefined ? headers : { ...headers, 'content-length': Buffer.byteLength(payload) },
          timeout: 10_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let body: Record<string, unknown> = {};
            try {
              body = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
            } catch {
              // Not JSON (e.g. an X12 document from the EDI outbox): kept as text, capped.
              body = { raw: text.slice(0, 65_536) };
            }
            this.tokens.observe(res.headers);
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error('control-plane request timed out')));
      req.on('error', reject);
      req.end(payload);
    });

  close(): void {
    this.#agent.destroy();
  }
}

/** Tenders loads at a steady pace until stopped; stop() waits for the request in flight. */
export class TmsSimulator {
  readonly stats: TmsStats = {
    sent: 0,
    accepted: 0,
    declined: 0,
    pendingReview: 0,
    failed: 0,
    trackingReads: 0,
  };
  readonly #client: TmsClient;
  readonly #intervalMs: number;
  readonly #random: () => number;
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> = Promise.resolve();
  #sequence = 0;
  readonly #onTendered: ((id: string, status: string) => void) | undefined;
  /** Loads this TMS follows on the tracking API (accepted ones, most recent last). */
  readonly #tracked: string[] = [];

  constructor(options: {
    baseUrl: string;
    credentials: PartnerCredentials;
    intervalMs: number;
    random?: () => number;
    /** 'dpop' (default) or 'mtls'. */
    binding?: TokenBinding;
    /** Told of every tender the gateway took (201): its id and decision status. */
    onTendered?: (id: string, status: string) => void;
  }) {
    this.#onTendered = options.onTendered;
    this.#client = new TmsClient(
      options.baseUrl,
      options.credentials,
      options.binding === undefined ? {} : { binding: options.binding },
    );
    this.#intervalMs = options.intervalMs;
    this.#random = options.random ?? Math.random;
  }

  /** Access tokens obtained so far (one per lifetime, refreshed before expiry). */
  get tokensObtained(): number {
    return this.#client.tokens.tokensObtained;
  }

  start(): void {
    this.#timer = setInterval(() => {
      this.#inFlight = this.#inFlight.then(() => this.tenderOnce());
    }, this.#intervalMs);
  }

  async tenderOnce(): Promise<void> {
    this.#sequence += 1;
    this.stats.sent += 1;
    try {
      const res = await this.#client.postTender(randomTender(this.#random, new Date(), this.#sequence));
      const status = String(res.body.status);
      if (res.status !== 201) this.stats.failed += 1;
      else if (status === 'accepted') this.stats.accepted += 1;
      else if (status === 'pending_review') this.stats.pendingReview += 1;
      else this.stats.declined += 1;
      if (res.status === 201 && typeof res.body.id === 'string') {
        this.#onTendered?.(res.body.id, status);
        if (status !== 'declined') this.#tracked.push(res.body.id);
      }
      // Follow one load on the tracking API each round, as a TMS's visibility screen would.
      const follow = this.#tracked[this.#sequence % Math.max(1, this.#tracked.length)];
      if (follow !== undefined && (await this.#client.getTracking(follow)).status === 200)
        this.stats.trackingReads += 1;
      if (this.#tracked.length > 50) this.#tracked.shift();
    } catch {
      this.stats.failed += 1;
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#inFlight;
    this.#client.close();
  }
}
