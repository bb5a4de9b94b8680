/**
 * HttpsTransport and EdgeClient against a real node:https server: TLS 1.3 only, client
 * certificate required, certificates made by the openssl CLI at test time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type ServerOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { ed25519Verify, generateEd25519KeyPair, keyIdOf } from '@fleetgate/core/signature/ed25519';
import { signingInput } from '@fleetgate/core/signature/signing-input';
import { DrivingState, decodeBatch, decodeEnvelope } from '@fleetgate/protocol/telemetry';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EdgeClient } from '../src/client.ts';
import { DurableCounter } from '../src/counter.ts';
import { EdgeError } from '../src/errors.ts';
import { HttpsTransport, type HttpsTransportOptions } from '../src/transport/https.ts';
import { makeTestPki, type TestPki } from './pki.ts';

interface Received {
  method: string | undefined;
  url: string | undefined;
  contentType: string | undefined;
  body: Buffer;
  tlsVersion: string | null;
  peerCn: unknown;
}

interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** Never answer (to exercise the deadline). */
  hang?: boolean;
}

let dir: string;
let pki: TestPki;
let server: Server;
let port: number;
let connections = 0;
const received: Received[] = [];
let replies: Reply[] = [];

function startServer(options: ServerOptions, onRequest: Parameters<typeof createServer>[1]): Promise<Server> {
  const s = createServer(options, onRequest);
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve(s)));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fleetgate-https-'));
  pki = makeTestPki(dir);
  server = await startServer(
    {
      key: pki.serverKey,
      cert: pki.serverCert,
      ca: pki.caCert,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.3',
    },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const socket = req.socket as TLSSocket;
        received.push({
          method: req.method,
          url: req.url,
          contentType: req.headers['content-type'],
          body: Buffer.concat(chunks),
          tlsVersion: socket.getProtocol(),
          peerCn: socket.getPeerCertificate().subject?.CN,
        });
        const reply = replies.shift() ?? { status: 202 };
        if (reply.hang) return;
        res.writeHead(reply.status, reply.headers ?? {});
        res.end(reply.body ?? '');
      });
    },
  );
  server.on('secureConnection', () => connections++);
  port = (server.address() as AddressInfo).port;
}, 60_000);

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  received.length = 0;
  replies = [];
  connections = 0;
});

function transportOptions(patch: Partial<HttpsTransportOptions> = {}): HttpsTransportOptions {
  return {
    url: `https://127.0.0.1:${port}`,
    cert: pki.clientCert,
    key: pki.clientKey,
    ca: pki.caCert,
    servername: 'gateway.test',
    ...patch,
  };
}

async function edgeErrorOf(promise: Promise<unknown>): Promise<EdgeError> {
  try {
    await promise;
  } catch (e) {
    expect(e).toBeInstanceOf(EdgeError);
    return e as EdgeError;
  }
  throw new Error('expected an EdgeError');
}

const problemBody = {
  type: 'https://fleetgate.dev/problems/telemetry-replayed',
  title: 'Telemetry replayed',
  status: 409,
  code: 'TELEMETRY_REPLAYED',
  detail: 'counter 7 is below the replay window',
};

describe('HttpsTransport', () => {
  it('POSTs the exact bytes as application/x-protobuf to /v1/telemetry over TLS 1.3 with the client certificate', async () => {
    const transport = new HttpsTransport(transportOptions());
    try {
      const bytes = new Uint8Array(4096).map((_, i) => (i * 7) & 0xff);
      const result = await transport.send(bytes);
      expect(result).toEqual({ status: 202 });
      expect(received).toHaveLength(1);
      const [got] = received;
      expect(got?.method).toBe('POST');
      expect(got?.url).toBe('/v1/telemetry');
      expect(got?.contentType).toBe('application/x-protobuf');
      expect(got?.tlsVersion).toBe('TLSv1.3');
      expect(got?.peerCn).toBe('TRK-0042');
      expect(Buffer.compare(got?.body ?? Buffer.alloc(0), Buffer.from(bytes))).toBe(0);
    } finally {
      transport.close();
    }
  });

  it('keeps the connection alive across sends', async () => {
    const transport = new HttpsTransport(transportOptions());
    try {
      for (let i = 0; i < 3; i++) expect((await transport.send(new Uint8Array([i + 1]))).status).toBe(202);
      expect(connections).toBe(1);
    } finally {
      transport.close();
    }
  });

  it('parses an RFC 9457 problem+json refusal and Retry-After', async () => {
    replies = [
      {
        status: 409,
        headers: { 'content-type': 'application/problem+json; charset=utf-8' },
        body: JSON.stringify(problemBody),
      },
      { status: 503, headers: { 'retry-after': '7' } },
      {
        status: 400,
        headers: { 'content-type': 'application/problem+json' },
        body: '{"title": 5, "code": "X"',
      },
    ];
    const transport = new HttpsTransport(transportOptions());
    try {
      expect(await transport.send(new Uint8Array([1]))).toEqual({ status: 409, problem: problemBody });
      expect(await transport.send(new Uint8Array([1]))).toEqual({ status: 503, retryAfterSeconds: 7 });
      // A broken problem body is no problem at all; the status still says what happened.
      expect(await transport.send(new Uint8Array([1]))).toEqual({ status: 400 });
    } finally {
      transport.close();
    }
  });

  it('honours a URL with its own path', async () => {
    const transport = new HttpsTransport(transportOptions({ url: `https://127.0.0.1:${port}/v2/other` }));
    try {
      await transport.send(new Uint8Array([1]));
      expect(received[0]?.url).toBe('/v2/other');
    } finally {
      transport.close();
    }
  });

  it('refuses a response body over the cap with EDGE_BAD_RESPONSE', async () => {
    replies = [{ status: 200, body: 'x'.repeat(100_000) }];
    const transport = new HttpsTransport(transportOptions({ maxResponseBytes: 1024 }));
    try {
      expect((await edgeErrorOf(transport.send(new Uint8Array([1])))).code).toBe('EDGE_BAD_RESPONSE');
    } finally {
      transport.close();
    }
  });

  it('gives up on a server that never answers with EDGE_TIMEOUT', async () => {
    replies = [{ status: 200, hang: true }];
    const transport = new HttpsTransport(transportOptions({ timeoutMs: 300 }));
    try {
      expect((await edgeErrorOf(transport.send(new Uint8Array([1])))).code).toBe('EDGE_TIMEOUT');
    } finally {
      transport.close();
    }
  });

  it('reports a refused connection as EDGE_NETWORK', async () => {
    const probe = createNetServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const closedPort = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const transport = new HttpsTransport(transportOptions({ url: `https://127.0.0.1:${closedPort}` }));
    try {
      expect((await edgeErrorOf(transport.send(new Uint8Array([1])))).code).toBe('EDGE_NETWORK');
    } finally {
      transport.close();
    }
  });

  it('refuses a gateway certificate from an untrusted CA, or for another name, with EDGE_TLS', async () => {
    for (const patch of [{ ca: pki.rogueCaCert }, { servername: 'other.test' }]) {
      const transport = new HttpsTransport(transportOptions(patch));
      try {
        expect((await edgeErrorOf(transport.send(new Uint8Array([1])))).code).toBe('EDGE_TLS');
      } finally {
        transport.close();
      }
    }
    expect(received).toHaveLength(0);
  });

  it('fails when the gateway rejects the client certificate, and the request never reaches it', async () => {
    // In TLS 1.3 the client finishes its side of the handshake before the server has judged the
    // client certificate, so the refusal arrives as an alert or as a reset: EDGE_TLS or EDGE_NETWORK.
    const transport = new HttpsTransport(
      transportOptions({ cert: pki.rogueClientCert, key: pki.rogueClientKey }),
    );
    try {
      const err = await edgeErrorOf(transport.send(new Uint8Array([1])));
      expect(['EDGE_TLS', 'EDGE_NETWORK']).toContain(err.code);
    } finally {
      transport.close();
    }
    expect(received).toHaveLength(0);
  });

  it('does not fall back below TLS 1.3', async () => {
    const legacy = await startServer(
      { key: pki.serverKey, cert: pki.serverCert, maxVersion: 'TLSv1.2' },
      (_req, res) => res.end(),
    );
    const legacyPort = (legacy.address() as AddressInfo).port;
    const transport = new HttpsTransport(transportOptions({ url: `https://127.0.0.1:${legacyPort}` }));
    try {
      expect((await edgeErrorOf(transport.send(new Uint8Array([1])))).code).toBe('EDGE_TLS');
    } finally {
      transport.close();
      await new Promise((resolve) => legacy.close(resolve));
    }
  });

  it('refuses non-https URLs and sends after close', async () => {
    expect(() => new HttpsTransport(transportOptions({ url: `http://127.0.0.1:${port}` }))).toThrow(
      EdgeError,
    );
    const transport = new HttpsTransport(transportOptions());
    transport.close();
    expect((await edgeErrorOf(transport.send(new Uint8Array([1])))).code).toBe('EDGE_TRANSPORT_CLOSED');
  });
});

describe('EdgeClient over HTTPS', () => {
  it('retries a 503, then returns a problem+json 4xx as a refusal without retrying', async () => {
    const { privateKey, publicKey } = generateEd25519KeyPair();
    const counter = DurableCounter.open(join(dir, 'client-counter'));
    const sleeps: number[] = [];
    const transport = new HttpsTransport(transportOptions());
    const client = new EdgeClient({
      vehicleId: 'TRK-0042',
      privateKey,
      keyId: keyIdOf(publicKey),
      counter,
      transport,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      random: () => 0,
    });
    try {
      replies = [
        { status: 503, headers: { 'retry-after': '1' } },
        { status: 202 },
        {
          status: 409,
          headers: { 'content-type': 'application/problem+json' },
          body: JSON.stringify(problemBody),
        },
      ];
      client.record(
        {
          timeUnixMs: 1_750_000_000_000n,
          latitude: 32.75,
          longitude: -97.33,
          speedMps: 24,
          headingDeg: 250,
          odometerM: 42,
          drivingState: DrivingState.AUTONOMOUS,
          faults: [],
        },
        1_750_000_000_000,
      );
      expect(await client.flush(1_750_000_000_100)).toMatchObject({
        outcome: 'accepted',
        status: 202,
        attempts: 2,
      });
      expect(sleeps).toEqual([1_000]);
      expect(received).toHaveLength(2);
      expect(Buffer.compare(received[0]?.body ?? Buffer.alloc(0), received[1]?.body ?? Buffer.alloc(1))).toBe(
        0,
      );
      // What the server received is a verifiable envelope around the batch.
      const envelope = decodeEnvelope(received[1]?.body ?? new Uint8Array());
      const sig = envelope.signatures[0]?.signature ?? new Uint8Array();
      expect(
        ed25519Verify(publicKey, signingInput(envelope.payloadType, envelope.counter, envelope.payload), sig),
      ).toBe(true);
      expect(decodeBatch(envelope.payload).vehicleId).toBe('TRK-0042');

      client.record(
        {
          timeUnixMs: 1_750_000_001_000n,
          latitude: 32.76,
          longitude: -97.34,
          speedMps: 24,
          headingDeg: 250,
          odometerM: 66,
          drivingState: DrivingState.AUTONOMOUS,
          faults: [],
        },
        1_750_000_001_000,
      );
      const refused = await client.flush(1_750_000_001_100);
      expect(refused).toEqual({
        outcome: 'refused',
        status: 409,
        problem: problemBody,
        counter: 2n,
        records: 1,
        attempts: 1,
      });
      expect(received).toHaveLength(3);
      expect(client.stats).toEqual({ sent: 2, accepted: 1, refused: 1, retried: 1, failed: 0 });
    } finally {
      client.close();
      counter.close();
    }
  });
});
