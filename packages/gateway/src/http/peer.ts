/**
 * Binds a request to the identity of the TLS connection it came on. The client certificate was already
 * chain-verified by OpenSSL during the handshake; its identity (vehicle or partner URN, thumbprint,
 * public key) is parsed once per connection — not per request — and cached against the connection
 * (the HTTP/1 socket or the HTTP/2 session).
 */
import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import { GatewayError } from '../errors/gateway-error.ts';
import { type PeerIdentity, peerIdentityFromDer } from '../pki/peer-identity.ts';

const cache = new WeakMap<object, PeerIdentity | GatewayError>();

export function connectionOf(raw: IncomingMessage | Http2ServerRequest): { key: object; socket: TLSSocket } {
  if ('stream' in raw && raw.stream !== undefined) {
    const session = raw.stream.session;
    if (session === undefined)
      throw new GatewayError('AUTH_CLIENT_CERT_REQUIRED', 'HTTP/2 session is closed');
    return { key: session, socket: session.socket as TLSSocket };
  }
  return { key: raw.socket, socket: raw.socket as TLSSocket };
}

export function peerIdentity(raw: IncomingMessage | Http2ServerRequest): PeerIdentity {
  const { key, socket } = connectionOf(raw);
  let identity = cache.get(key);
  if (identity === undefined) {
    identity = resolve(socket);
    cache.set(key, identity);
  }
  if (identity instanceof GatewayError) throw identity;
  return identity;
}

function resolve(socket: TLSSocket): PeerIdentity | GatewayError {
  if (typeof socket.getPeerCertificate !== 'function' || socket.authorized !== true) {
    return new GatewayError('AUTH_CLIENT_CERT_REQUIRED');
  }
  const der = socket.getPeerCertificate(false)?.raw;
  if (der === undefined || der.byteLength === 0) return new GatewayError('AUTH_CLIENT_CERT_REQUIRED');
  try {
    return peerIdentityFromDer(new Uint8Array(der));
  } catch (cause) {
    return new GatewayError('AUTH_IDENTITY_NOT_ALLOWED', 'certificate carries no usable fleetgate identity', {
      cause,
    });
  }
}
