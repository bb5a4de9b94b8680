/**
 * The transport limit: a fastify hello-world POST route on a listener built exactly like the gateway's
 * (tlsServerOptions: TLS 1.3 only, the same suites and groups, client certificate required and
 * verified against the same CA, the same server certificate), optionally HTTP/2 with HTTP/1.1 allowed
 * as the telemetry listener is. It reads the body (as the gateway must) and answers a small JSON
 * object — no validation, store, audit or logging — so the gap between it and the gateway is the
 * gateway's own work.
 */
import type { AddressInfo } from 'node:net';
import { type TlsMaterial, tlsServerOptions } from '@fleetgate/gateway/http/tls-policy';
import Fastify, { type FastifyInstance } from 'fastify';

export interface HelloServer {
  url: string;
  close(): Promise<void>;
}

export const HELLO_PATH = '/hello';

export async function startHelloServer(
  material: TlsMaterial,
  options: { http2: boolean },
): Promise<HelloServer> {
  const tls = tlsServerOptions(material, true);
  const app = (options.http2
    ? Fastify({ http2: true, https: { ...tls, allowHTTP1: true } })
    : Fastify({ https: tls })) as unknown as FastifyInstance;
  app.addContentTypeParser('application/x-protobuf', { parseAs: 'buffer' }, (_req, body, done) =>
    done(null, body),
  );
  app.post(HELLO_PATH, async () => ({ ok: true }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return { url: `https://127.0.0.1:${port}`, close: () => app.close() };
}
