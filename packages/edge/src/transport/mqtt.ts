/**
 * MQTT transport for signed envelopes (docs/mqtt.md): MQTT 5.0 over TLS 1.3 to the fleet's broker with
 * the device certificate, publishing each envelope at QoS 1 on `fleet/<vehicle-id>/telemetry` and waiting
 * for the gateway's answer on `fleet/<vehicle-id>/acks`. It keeps HttpsTransport's contract — send()
 * resolves with the gateway's answer as a SendResult (status, Retry-After, problem details) and rejects
 * only when no answer came — so EdgeClient retries, spools and counts both transports alike.
 *
 * A broker PUBACK only says the broker has the message; the vehicle waits for the gateway's ack, which
 * names the SHA-256 of the envelope bytes the gateway received (never a publisher-chosen correlation
 * id). No ack within `ackTimeoutMs` → EDGE_TIMEOUT, and the client re-sends the same bytes; an ack that
 * arrives after its wait ended is kept (a few hundred) and answers that re-send without publishing
 * again. Errors: EDGE_NETWORK and EDGE_TIMEOUT (worth retrying), EDGE_TLS and EDGE_BROKER_REFUSED (the
 * broker refused the certificate, the subscription or the publish: its ACL or CRL — not retried),
 * EDGE_TRANSPORT_CLOSED.
 *
 * Threats: a spoofed broker (its certificate is verified against the given CA bundle, TLS 1.3 only); a
 * broker or peer that floods or forges answers (acks are read only from this vehicle's acks topic, which
 * the broker lets only the gateway write, and parsed defensively with a size cap; an answer can only
 * settle the envelope whose digest it names). The broker can still withhold or fake an *answer* — never
 * the telemetry, which the gateway verifies end to end; a faked "accepted" costs the spool an envelope.
 */
import { randomBytes } from 'node:crypto';
import { toHex } from '@fleetgate/core/bytes';
import { sha256 } from '@fleetgate/core/hash';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { EdgeError } from '../errors.ts';
import { parseProblem } from '../internal/http-answer.ts';
import type { SendResult } from './https.ts';

type Pem = string | Buffer;

export interface MqttTransportOptions {
  /** The broker: `mqtts://host:port`. */
  url: string | URL;
  /** This vehicle's id: its topics are fleet/<id>/telemetry and fleet/<id>/acks. */
  vehicleId: string;
  /** Device certificate chain (PEM). */
  cert: Pem;
  /** Device private key (PEM). */
  key: Pem;
  /** CA bundle the broker's certificate must chain to (PEM). */
  ca: Pem | readonly Pem[];
  /** Name the broker's certificate must carry, when it differs from the URL's host. */
  servername?: string;
  /** Wait for the gateway's answer this long after publishing. Default 10,000 ms. */
  ackTimeoutMs?: number;
  /** Deadline for connecting and subscribing. Default 10,000 ms. */
  connectTimeoutMs?: number;
  /** MQTT keep-alive. Default 30 s. */
  keepaliveSeconds?: number;
}

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const MAX_ACK_BYTES = 64 * 1024;
const MAX_LATE_ACKS = 256;
const DIGEST = /^[0-9a-f]{64}$/;
/** Certificate verification failures, TLS alerts and protocol-version refusals (as in https.ts). */
const TLS_CODE = /^(ERR_SSL_|ERR_TLS_|EPROTO$)|CERT|UNABLE_TO_(GET|VERIFY)/;
/** MQTT 5 reason codes (§2.4) at or above 0x80 are refusals; these ones will not change on a retry. */
const REFUSALS = new Set([0x84, 0x85, 0x86, 0x87, 0x8c, 0x90, 0x95, 0x97, 0x9a]);

interface Waiter {
  resolve: (result: SendResult) => void;
  reject: (error: EdgeError) => void;
}

export class MqttTransport {
  readonly url: URL;
  readonly topic: string;
  readonly acksTopic: string;
  readonly #options: MqttTransportOptions;
  readonly #ackTimeoutMs: number;
  readonly #connectTimeoutMs: number;
  readonly #waiters = new Map<string, Waiter[]>();
  readonly #late = new Map<string, SendResult>();
  #client: MqttClient | undefined;
  #connecting: Promise<MqttClient> | undefined;
  #closed = false;

  constructor(options: MqttTransportOptions) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch (cause) {
      throw new EdgeError('EDGE_INVALID_ARGUMENT', 'url is not a URL', { cause });
    }
    if (url.protocol !== 'mqtts:') throw new EdgeError('EDGE_INVALID_ARGUMENT', 'url must be mqtts');
    if (!ID_PATTERN.test(options.vehicleId)) {
      throw new EdgeError('EDGE_INVALID_ARGUMENT', 'vehicleId does not match the id pattern');
    }
    this.url = url;
    this.topic = `fleet/${options.vehicleId}/telemetry`;
    this.acksTopic = `fleet/${options.vehicleId}/acks`;
    this.#options = options;
    this.#ackTimeoutMs = positive(options.ackTimeoutMs ?? 10_000, 'ackTimeoutMs');
    this.#connectTimeoutMs = positive(options.connectTimeoutMs ?? 10_000, 'connectTimeoutMs');
    positive(options.keepaliveSeconds ?? 30, 'keepaliveSeconds');
  }

  /** Publishes one encoded envelope and resolves with the gateway's answer; rejects with an EdgeError. */
  async send(envelope: Uint8Array): Promise<SendResult> {
    if (this.#closed) throw new EdgeError('EDGE_TRANSPORT_CLOSED', 'transport is closed');
    const digest = toHex(sha256(envelope));
    const late = this.#late.get(digest);
    if (late !== undefined) {
      this.#late.delete(digest); // answered after an earlier attempt's wait ended
      return late;
    }
    const client = await this.#connected();
    return new Promise<SendResult>((resolve, reject) => {
      const waiter: Waiter = {
        resolve: (result) => {
          clearTimeout(timer);
          resolve(result);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        this.#forget(digest, waiter);
        reject(new EdgeError('EDGE_TIMEOUT', `no answer from the gateway within ${this.#ackTimeoutMs} ms`));
      }, this.#ackTimeoutMs);
      this.#waiters.set(digest, [...(this.#waiters.get(digest) ?? []), waiter]);
      client.publish(this.topic, Buffer.from(envelope), { qos: 1 }, (error) => {
        if (error === undefined || error === null) return;
        this.#forget(digest, waiter);
        waiter.reject(classify(error));
      });
    });
  }

  /** Disconnects; waiting sends fail with EDGE_TRANSPORT_CLOSED, later ones too. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#failAll(new EdgeError('EDGE_TRANSPORT_CLOSED', 'transport is closed'));
    const client = this.#client;
    this.#client = undefined;
    if (client !== undefined) await new Promise<void>((done) => client.end(false, {}, () => done()));
  }

  #forget(digest: string, waiter: Waiter): void {
    const rest = (this.#waiters.get(digest) ?? []).filter((w) => w !== waiter);
    if (rest.length === 0) this.#waiters.delete(digest);
    else this.#waiters.set(digest, rest);
  }

  #failAll(error: EdgeError): void {
    const waiters = [...this.#waiters.values()].flat();
    this.#waiters.clear();
    for (const waiter of waiters) waiter.reject(error);
  }

  #answer(payload: Buffer): void {
    const ack = parseAck(payload);
    if (ack === undefined) return;
    const waiters = this.#waiters.get(ack.digest);
    if (waiters === undefined) {
      if (this.#late.size >= MAX_LATE_ACKS) {
        const oldest = this.#late.keys().next().value;
        if (oldest !== undefined) this.#late.delete(oldest);
      }
      this.#late.set(ack.digest, ack.result);
      return;
    }
    // One answer settles one wait: the oldest send of these bytes (a re-send gets its own answer).
    const [first, ...rest] = waiters;
    if (rest.length === 0) this.#waiters.delete(ack.digest);
    else this.#waiters.set(ack.digest, rest);
    first?.resolve(ack.result);
  }

  #connected(): Promise<MqttClient> {
    if (this.#client?.connected) return Promise.resolve(this.#client);
    this.#connecting ??= this.#connect().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  #connect(): Promise<MqttClient> {
    const o = this.#options;
    const options: IClientOptions & { minVersion: 'TLSv1.3' } = {
      protocolVersion: 5,
      // Unique per connection: a second transport of the same vehicle (a rotation) must not take over
      // this one's session. The session is clean: answers are waited for per connection.
      clientId: `fleetgate-${o.vehicleId}-${randomBytes(4).toString('hex')}`,
      clean: true,
      reconnectPeriod: 0, // send() reconnects on demand; a queued publish would escape the retry policy
      connectTimeout: this.#connectTimeoutMs,
      keepalive: o.keepaliveSeconds ?? 30,
      cert: o.cert,
      key: o.key,
      ca: (Array.isArray(o.ca) ? [...o.ca] : o.ca) as string | string[],
      rejectUnauthorized: true,
      minVersion: 'TLSv1.3',
      ...(o.servername === undefined ? {} : { servername: o.servername }),
    };
    return new Promise<MqttClient>((resolve, reject) => {
      let settled = false;
      const client = connect(this.url.toString(), options);
      const fail = (error: EdgeError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        client.end(true);
        reject(error);
      };
      const deadline = setTimeout(
        () => fail(new EdgeError('EDGE_TIMEOUT', `not connected within ${this.#connectTimeoutMs} ms`)),
        this.#connectTimeoutMs,
      );
      client.on('error', (error) => fail(classify(error)));
      client.on('close', () => {
        if (this.#client === client) this.#client = undefined;
        if (!settled) fail(new EdgeError('EDGE_NETWORK', 'the broker closed the connection'));
        else this.#failAll(new EdgeError('EDGE_NETWORK', 'connection to the broker lost'));
      });
      client.on('message', (topic, payload) => {
        if (topic === this.acksTopic) this.#answer(payload);
      });
      client.on('connect', () => {
        client.subscribe(this.acksTopic, { qos: 1 }, (error, granted) => {
          const qos = granted?.[0]?.qos;
          if (error || qos === undefined || qos >= 0x80) {
            fail(new EdgeError('EDGE_BROKER_REFUSED', 'the broker refused the acknowledgement subscription'));
            return;
          }
          if (settled) return;
          if (this.#closed) {
            fail(new EdgeError('EDGE_TRANSPORT_CLOSED', 'transport is closed'));
            return;
          }
          settled = true;
          clearTimeout(deadline);
          this.#client = client;
          resolve(client);
        });
      });
    });
  }
}

/** The gateway's answer (gateway telemetry/mqtt/ack.ts), read defensively: anything odd is ignored. */
function parseAck(payload: Buffer): { digest: string; result: SendResult } | undefined {
  if (payload.byteLength > MAX_ACK_BYTES) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return undefined;
  const o = json as Record<string, unknown>;
  const { v, envelopeSha256: digest, status } = o;
  if (v !== 1 || typeof digest !== 'string' || !DIGEST.test(digest)) return undefined;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599)
    return undefined;
  const result: SendResult = { status };
  const retry = o.retryAfterSeconds;
  if (typeof retry === 'number' && Number.isInteger(retry) && retry >= 0 && retry <= 86_400) {
    result.retryAfterSeconds = retry;
  }
  if (status >= 400 && typeof o.problem === 'object' && o.problem !== null) {
    const problem = parseProblem(Buffer.from(JSON.stringify(o.problem)));
    if (problem !== undefined) result.problem = problem;
  }
  return { digest, result };
}

function classify(error: unknown): EdgeError {
  if (error instanceof EdgeError) return error;
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'number') {
    return REFUSALS.has(code)
      ? new EdgeError('EDGE_BROKER_REFUSED', `the broker refused (reason code 0x${code.toString(16)})`, {
          cause: error,
        })
      : new EdgeError('EDGE_NETWORK', `the broker failed (reason code 0x${code.toString(16)})`, {
          cause: error,
        });
  }
  const text = typeof code === 'string' ? code : '';
  if (TLS_CODE.test(text)) return new EdgeError('EDGE_TLS', `TLS failed: ${text}`, { cause: error });
  if (/alert (certificate|unknown ca|bad certificate|handshake)/i.test(String((error as Error)?.message))) {
    return new EdgeError('EDGE_TLS', 'TLS failed: the broker refused the certificate', { cause: error });
  }
  return new EdgeError('EDGE_NETWORK', `broker connection failed${text === '' ? '' : `: ${text}`}`, {
    cause: error,
  });
}

function positive(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new EdgeError('EDGE_INVALID_ARGUMENT', `${name} must be a positive integer`);
  }
  return value;
}
