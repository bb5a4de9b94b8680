/**
 * Enforces revocation on every mTLS listener within seconds, including connections already open
 * (ARCHITECTURE.md: "revocation … enforced by the gateway within seconds").
 *
 *   - Handshake: each listener's server is hooked on 'secureConnection' ahead of HTTP. The peer
 *     certificate is read once per connection; a revoked serial is closed there, before any request is
 *     parsed (OpenSSL offers no hook inside the handshake, and a CRL in the TLS context would also demand
 *     a CRL for the root, whose key is offline). Otherwise the connection is registered under its serial.
 *   - Open connections: when a serial becomes revoked (in-process notice, or the poll of the store at
 *     least every second), every connection registered under it is destroyed — HTTP/1 keep-alive
 *     sockets and HTTP/2 sessions alike.
 *   - Requests: an onRequest hook checks the connection's certificate (peer.ts's per-connection cache)
 *     against the set, as defence in depth, and answers AUTH_CERTIFICATE_REVOKED (401), closing the
 *     connection after the response.
 * Every refusal and termination is audited. Refusals of one certificate on one listener are coalesced:
 * the first is appended at once, later ones within REFUSAL_AUDIT_WINDOW_MS are counted and appended as
 * one entry with `attempts`, so a revoked device reconnecting in a loop cannot flood the log.
 *
 * Threats: a revoked certificate kept alive on a long-lived connection (HTTP/2 sessions last minutes);
 * resumption of a revoked certificate's TLS session (checked at every 'secureConnection', resumed or
 * not); a revocation made on another node (the poll).
 */
import type { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import { toHex } from '@fleetgate/core/bytes';
import { sha256 } from '@fleetgate/core/hash';
import type { Logger } from 'pino';
import type { AuditActor } from '../../audit/event.ts';
import type { AuditLog } from '../../audit/log.ts';
import { GatewayError } from '../../errors/gateway-error.ts';
import type { AnyFastify } from '../../http/common.ts';
import { connectionOf, peerIdentity } from '../../http/peer.ts';
import type { Queryable } from '../../store/store.ts';
import { normaliseSerial } from '../inventory.ts';
import { peerIdentityFromDer } from '../peer-identity.ts';
import type { RevocationMetrics } from './metrics.ts';
import { RevokedSerials } from './revoked-set.ts';

export const REFUSAL_AUDIT_WINDOW_MS = 5_000;

interface Tracked {
  readonly socket: TLSSocket;
  readonly listener: string;
}

interface RefusalState {
  auditedAt: number;
  pending: number;
  readonly actor: AuditActor;
}

export interface EnforcementOptions {
  readonly store: Queryable;
  readonly audit: AuditLog;
  readonly logger: Logger;
  readonly metrics?: RevocationMetrics;
}

/** The reply surface the request hook needs (every listener's fastify reply has it). */
export interface HookReply {
  header(key: string, value: string): unknown;
  readonly raw: { once(event: 'finish', listener: () => void): unknown };
}

function actorOf(der: Uint8Array, certSha256: string): AuditActor {
  try {
    const identity = peerIdentityFromDer(der);
    return { kind: identity.kind, id: identity.id, certSha256 };
  } catch {
    return { kind: 'system', id: 'unidentified-peer', certSha256 };
  }
}

export class RevocationEnforcer {
  readonly revoked: RevokedSerials;
  readonly #options: EnforcementOptions;
  readonly #live = new Map<string, Set<Tracked>>();
  readonly #refusals = new Map<string, RefusalState>();
  readonly #inFlight = new Set<Promise<unknown>>();

  constructor(options: EnforcementOptions) {
    this.#options = options;
    this.revoked = new RevokedSerials(options.store);
  }

  /** Open connections currently registered (all listeners). */
  get liveConnections(): number {
    let n = 0;
    for (const set of this.#live.values()) n += set.size;
    return n;
  }

  /**
   * Enforces on one mTLS listener: its TLS server closes revoked certificates right after the handshake
   * and registers the others; an onRequest hook refuses requests of revoked certificates.
   */
  attach(app: AnyFastify, listener: string): void {
    (app.server as EventEmitter).prependListener('secureConnection', (socket: TLSSocket) =>
      this.#onSecureConnection(socket, listener),
    );
    app.addHook('onRequest', async (request, reply) => this.checkRequest(request.raw, reply, listener));
  }

  #onSecureConnection(socket: TLSSocket, listener: string): void {
    if (socket.authorized !== true) return; // OpenSSL refused the chain; node closes it
    const certificate = socket.getPeerX509Certificate();
    if (certificate === undefined) return;
    const serial = normaliseSerial(certificate.serialNumber);
    if (this.revoked.has(serial)) {
      socket.destroy();
      const der = new Uint8Array(certificate.raw);
      this.#refused(serial, listener, 'handshake', actorOf(der, toHex(sha256(der))));
      return;
    }
    let set = this.#live.get(serial);
    if (set === undefined) {
      set = new Set();
      this.#live.set(serial, set);
    }
    const tracked: Tracked = { socket, listener };
    set.add(tracked);
    socket.once('close', () => {
      const current = this.#live.get(serial);
      current?.delete(tracked);
      if (current?.size === 0) this.#live.delete(serial);
    });
  }

  /** The onRequest check: throws AUTH_CERTIFICATE_REVOKED (after auditing) for a revoked certificate. */
  async checkRequest(
    raw: IncomingMessage | Http2ServerRequest,
    reply: HookReply,
    listener: string,
  ): Promise<void> {
    let identity: ReturnType<typeof peerIdentity>;
    try {
      identity = peerIdentity(raw);
    } catch {
      return; // no usable identity: the route refuses with its own code
    }
    if (!this.revoked.has(identity.serialNumber)) return;
    const serial = normaliseSerial(identity.serialNumber);
    const actor: AuditActor = { kind: identity.kind, id: identity.id, certSha256: identity.thumbprintSha256 };
    await this.#refused(serial, listener, 'request', actor);
    if ('stream' in raw && raw.stream !== undefined) {
      const session = raw.stream.session;
      reply.raw.once('finish', () => session?.close());
    } else {
      reply.header('connection', 'close');
      const { socket } = connectionOf(raw);
      reply.raw.once('finish', () => socket.end());
    }
    throw new GatewayError('AUTH_CERTIFICATE_REVOKED');
  }

  /** A revocation committed in this process: enforce it now. */
  async revokedNow(serialNumber: string): Promise<void> {
    this.revoked.add(serialNumber);
    await this.#terminate([normaliseSerial(serialNumber)]);
  }

  /**
   * Polls the store, closes connections of newly revoked serials, flushes counted refusals. `changed`:
   * the store holds revocations the previous poll did not see (the CRL must be looked at).
   */
  async refresh(): Promise<{ added: string[]; changed: boolean }> {
    const result = await this.revoked.refresh();
    await this.#terminate(result.added);
    this.#flushRefusals();
    return result;
  }

  /** Resolves when every audit append started so far has settled. */
  async settled(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  async #terminate(serials: readonly string[]): Promise<void> {
    const appends: Promise<unknown>[] = [];
    for (const serial of serials) {
      const set = this.#live.get(serial);
      if (set === undefined || set.size === 0) continue;
      const listeners = [...new Set([...set].map((t) => t.listener))].sort();
      const count = set.size;
      let der: Uint8Array | undefined;
      for (const tracked of set) {
        der ??= new Uint8Array(tracked.socket.getPeerX509Certificate()?.raw ?? new Uint8Array());
        tracked.socket.destroy();
      }
      this.#live.delete(serial);
      this.#options.metrics?.connectionsTerminated.inc(count);
      this.#options.logger.warn(
        { serial, connections: count, listeners },
        'closed connections of a revoked certificate',
      );
      const certSha256 = der !== undefined && der.length > 0 ? toHex(sha256(der)) : undefined;
      appends.push(
        this.#track(
          this.#options.audit.append({
            class: 'pki.connection.terminated',
            actor: { kind: 'system', id: 'revocation-enforcer' },
            subject: { kind: 'certificate', id: serial },
            outcome: 'recorded',
            reasons: ['AUTH_CERTIFICATE_REVOKED'],
            details: { connections: count, listeners, ...(certSha256 ? { certSha256 } : {}) },
          }),
        ),
      );
    }
    await Promise.all(appends);
  }

  #refused(
    serial: string,
    listener: string,
    stage: 'handshake' | 'request',
    actor: AuditActor,
  ): Promise<void> {
    this.#options.metrics?.refusals.inc({ listener, stage });
    const key = `${serial} ${listener} ${stage}`;
    const now = performance.now();
    const state = this.#refusals.get(key);
    if (state !== undefined && now - state.auditedAt < REFUSAL_AUDIT_WINDOW_MS) {
      state.pending += 1;
      return Promise.resolve();
    }
    const attempts = 1 + (state?.pending ?? 0);
    this.#refusals.set(key, { auditedAt: now, pending: 0, actor });
    return this.#appendRefusal(serial, listener, stage, actor, attempts);
  }

  #flushRefusals(): void {
    const now = performance.now();
    for (const [key, state] of this.#refusals) {
      if (now - state.auditedAt < REFUSAL_AUDIT_WINDOW_MS) continue;
      if (state.pending === 0) {
        this.#refusals.delete(key);
        continue;
      }
      const [serial = '', listener = '', stage = 'handshake'] = key.split(' ');
      const attempts = state.pending;
      state.pending = 0;
      state.auditedAt = now;
      void this.#appendRefusal(serial, listener, stage as 'handshake' | 'request', state.actor, attempts);
    }
  }

  #appendRefusal(
    serial: string,
    listener: string,
    stage: 'handshake' | 'request',
    actor: AuditActor,
    attempts: number,
  ): Promise<void> {
    this.#options.logger.info({ serial, listener, stage, attempts }, 'revoked certificate refused');
    return this.#track(
      this.#options.audit.append({
        class: 'pki.certificate.revoked-use-refused',
        actor,
        subject: { kind: 'certificate', id: serial },
        outcome: 'rejected',
        reasons: ['AUTH_CERTIFICATE_REVOKED'],
        details: { listener, stage, attempts },
      }),
    );
  }

  #track(append: Promise<unknown>): Promise<void> {
    const settled = append.then(
      () => undefined,
      (error: unknown) => {
        this.#options.logger.error({ err: error }, 'audit append for a revocation decision failed');
      },
    );
    this.#inFlight.add(settled);
    void settled.finally(() => this.#inFlight.delete(settled));
    return settled;
  }
}
