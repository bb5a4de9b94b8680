/**
 * Certificate renewal on the vehicle (docs/pki.md "Rotation"): before the certificate expires — by
 * default at 2/3 of its lifetime, the gateway's `rotation.renewAtFraction` — the device makes a NEW
 * Ed25519 key, sends a PKCS#10 request for it over EST simplereenroll (RFC 7030 §4.2.2) authenticated
 * by its current certificate, saves key and chain atomically (DIR/device.pem, 0600) and switches to
 * them. The gateway keeps the old certificate valid for `rotation.graceSeconds`, so batches already
 * queued under the old key still go out over the old connection while new ones use the new key.
 *
 *   renew()             one renewal, crash-safe: the new key is saved as DIR/pending-key.pem before
 *                       the request leaves, so a retry after a lost answer sends the same key and the
 *                       gateway answers with the certificate it already issued;
 *   CertificateRenewer  schedules renew() at the due time, retries failures after `retryDelayMs`,
 *                       calls `onRenewed` with the new credentials;
 *   RotatingEdgeClient  an EdgeClient whose key and transport follow the renewer: new records go to a
 *                       client built for the new credentials; the old client drains and closes.
 *
 * Threat: an expired certificate strands a vehicle (it can then only come back with a new bootstrap
 * token); renewing at 2/3 leaves a third of the lifetime for retries. A key is never reused across
 * certificates (the gateway refuses it too).
 */
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { TelemetryRecordSchema } from '@fleetgate/protocol/telemetry';
import type { EdgeClient, FlushResult } from './client.ts';
import { buildCsr, orderChain } from './enroll.ts';
import { EdgeError } from './errors.ts';
import {
  credentialsFrom,
  type DeviceCredentials,
  PENDING_KEY_FILE,
  pendingKey,
  removeFile,
  saveCredentials,
} from './internal/credentials.ts';
import { type EstEndpoint, estPost } from './internal/est-client.ts';

export const DEFAULT_RENEW_AT_FRACTION = 2 / 3;
/** setTimeout's ceiling; longer waits are re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** When a certificate valid from notBefore to notAfter should be renewed. */
export function renewalDueAt(
  notBefore: Date,
  notAfter: Date,
  fraction: number = DEFAULT_RENEW_AT_FRACTION,
): Date {
  if (!(fraction > 0 && fraction < 1))
    throw new EdgeError('EDGE_INVALID_ARGUMENT', 'fraction must be in (0, 1)');
  const start = notBefore.getTime();
  return new Date(start + Math.floor((notAfter.getTime() - start) * fraction));
}

export interface RenewOptions extends EstEndpoint {
  /** Where DIR/device.pem (and, during a renewal, DIR/pending-key.pem) live. */
  readonly dir: string;
  /** The current, still valid credentials: they authenticate the renewal. */
  readonly credentials: DeviceCredentials;
}

/** One renewal over simplereenroll; resolves with the new credentials, already saved. */
export async function renew(options: RenewOptions): Promise<DeviceCredentials> {
  const current = options.credentials;
  const { keyPem, privateKey } = await pendingKey(options.dir, current.privateKey);
  const certificates = await estPost(options, 'simplereenroll', buildCsr(privateKey, current.vehicleId), {
    cert: current.chainPem,
    key: current.keyPem,
  });
  const renewed = credentialsFrom(current.vehicleId, keyPem, orderChain(certificates, privateKey));
  await saveCredentials(options.dir, renewed);
  await removeFile(options.dir, PENDING_KEY_FILE);
  return renewed;
}

export interface RenewerOptions extends RenewOptions {
  /** Fraction of the lifetime at which to renew; default 2/3. */
  readonly renewAtFraction?: number;
  /** Wait after a failed attempt; default 300,000 ms (5 minutes). */
  readonly retryDelayMs?: number;
  readonly onRenewed?: (credentials: DeviceCredentials) => void | Promise<void>;
  readonly onError?: (error: unknown) => void;
  /** Injectable clock (ms since the epoch). */
  readonly now?: () => number;
}

export class CertificateRenewer {
  readonly #options: RenewerOptions;
  #credentials: DeviceCredentials;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<DeviceCredentials> | undefined;
  #stopped = true;

  constructor(options: RenewerOptions) {
    this.#options = options;
    this.#credentials = options.credentials;
    renewalDueAt(options.credentials.notBefore, options.credentials.notAfter, options.renewAtFraction);
  }

  get credentials(): DeviceCredentials {
    return this.#credentials;
  }

  /** When the current certificate is due for renewal. */
  get dueAt(): Date {
    const c = this.#credentials;
    return renewalDueAt(c.notBefore, c.notAfter, this.#options.renewAtFraction);
  }

  start(): void {
    this.#stopped = false;
    this.#arm(this.dueAt.getTime() - this.#now());
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Renews now (concurrent callers share one attempt) and re-arms for the new certificate. */
  renewNow(): Promise<DeviceCredentials> {
    this.#running ??= renew({ ...this.#options, credentials: this.#credentials })
      .then(async (renewed) => {
        this.#credentials = renewed;
        await this.#options.onRenewed?.(renewed);
        if (!this.#stopped) this.#arm(this.dueAt.getTime() - this.#now());
        return renewed;
      })
      .finally(() => {
        this.#running = undefined;
      });
    return this.#running;
  }

  #now(): number {
    return (this.#options.now ?? Date.now)();
  }

  #arm(delayMs: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#fire(), Math.min(Math.max(0, delayMs), MAX_TIMER_MS));
    this.#timer.unref();
  }

  #fire(): void {
    if (this.#stopped) return;
    const wait = this.dueAt.getTime() - this.#now();
    if (wait > 0) {
      this.#arm(wait); // a wait longer than setTimeout's ceiling, re-armed
      return;
    }
    this.renewNow().catch((error: unknown) => {
      this.#options.onError?.(error);
      if (!this.#stopped) this.#arm(this.#options.retryDelayMs ?? 300_000);
    });
  }
}

type RecordInit = MessageInitShape<typeof TelemetryRecordSchema>;

/**
 * An EdgeClient that follows certificate rotation. `createClient` builds a client (key, key id,
 * transport) for given credentials and must reuse the vehicle's DurableCounter(s), so envelope
 * counters and record sequence numbers continue across the switch.
 */
export class RotatingEdgeClient {
  readonly #createClient: (credentials: DeviceCredentials) => EdgeClient;
  #current: EdgeClient;

  constructor(credentials: DeviceCredentials, createClient: (credentials: DeviceCredentials) => EdgeClient) {
    this.#createClient = createClient;
    this.#current = createClient(credentials);
  }

  record(record: RecordInit, now?: number): void {
    this.#current.record(record, now);
  }

  due(now?: number): boolean {
    return this.#current.due(now);
  }

  get pending(): number {
    return this.#current.pending;
  }

  flush(now?: number): Promise<FlushResult> {
    return this.#current.flush(now);
  }

  /**
   * Switches to new credentials: records from now on go to a new client; the records the old client
   * still holds are flushed with the old key over the old connection (valid during the overlap), then
   * it is closed. Returns the old client's flush results (a failed one carries its signed envelope).
   */
  async switchTo(credentials: DeviceCredentials): Promise<FlushResult[]> {
    const old = this.#current;
    this.#current = this.#createClient(credentials);
    const results: FlushResult[] = [];
    while (old.pending > 0) {
      const result = await old.flush();
      results.push(result);
      if (result.outcome === 'failed' || result.outcome === 'empty') break;
    }
    old.close();
    return results;
  }

  close(): void {
    this.#current.close();
  }
}
