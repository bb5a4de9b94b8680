/**
 * The per-device connection cap on the telemetry listener (issue 5 "Limits"; docs/telemetry.md
 * "Limits"): each TLS connection is counted against the vehicle of its client certificate when the
 * handshake completes, before any request; at most `max` live connections per vehicle are admitted. A
 * connection beyond the cap is kept open just long enough to answer its first request with 429
 * REQUEST_RATE_LIMITED and Retry-After — a coded answer a device SDK can act on — and is closed right
 * after (HTTP/1.1 `Connection: close`; the HTTP/2 session is closed). It never reaches ingest.
 * An admitted connection frees its slot when it closes.
 *
 * Threat: a stolen or cloned certificate, or a buggy device reconnecting in a loop, holding many
 * connections to starve the listener or to multiply its token-bucket rate across connections.
 * Per gateway node (connections are node-local); several nodes behind a load balancer each allow `max`.
 *
 * The certificate is read once per connection here (after OpenSSL verified the chain); the request path
 * only looks up the mark left on the socket (an HTTP/2 session's socket forwards it).
 */
import type { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import { connectionOf } from '../http/peer.ts';
import { peerIdentityFromDer } from '../pki/peer-identity.ts';

const ADMISSION = Symbol('fleetgate.telemetry.admission');

interface Admission {
  vehicleId: string;
  admitted: boolean;
}

type Marked = TLSSocket & { [ADMISSION]?: Admission };

export class DeviceConnectionCap {
  readonly #max: number;
  readonly #live = new Map<string, number>();

  constructor(max: number) {
    this.#max = max;
  }

  /** Counts connections of `server` (a TLS or HTTP/2 secure server) as their handshakes complete. */
  attach(server: EventEmitter): void {
    server.on('secureConnection', (socket: TLSSocket) => this.#onConnection(socket as Marked));
  }

  /** Live admitted connections of a vehicle on this node. */
  count(vehicleId: string): number {
    return this.#live.get(vehicleId) ?? 0;
  }

  /** True when the request came on a connection beyond its vehicle's cap. */
  isExcess(raw: IncomingMessage | Http2ServerRequest): boolean {
    const { socket } = connectionOf(raw);
    return (socket as Marked)[ADMISSION]?.admitted === false;
  }

  #onConnection(socket: Marked): void {
    if (socket.authorized !== true) return; // OpenSSL refused the chain; node closes it
    const certificate = socket.getPeerX509Certificate();
    if (certificate === undefined) return;
    let vehicleId: string;
    try {
      const identity = peerIdentityFromDer(new Uint8Array(certificate.raw));
      if (identity.kind !== 'vehicle') return; // the route refuses it with its own code
      vehicleId = identity.id;
    } catch {
      return;
    }
    const live = this.#live.get(vehicleId) ?? 0;
    if (live >= this.#max) {
      socket[ADMISSION] = { vehicleId, admitted: false };
      return;
    }
    this.#live.set(vehicleId, live + 1);
    socket[ADMISSION] = { vehicleId, admitted: true };
    socket.once('close', () => {
      const n = (this.#live.get(vehicleId) ?? 1) - 1;
      if (n <= 0) this.#live.delete(vehicleId);
      else this.#live.set(vehicleId, n);
    });
  }
}
