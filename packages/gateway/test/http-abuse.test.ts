/**
 * HTTP-level bad input (SECURITY-CHECKLIST "HTTP"), sent as raw bytes over a real mTLS connection:
 * header floods, request smuggling shapes, absurd chunk sizes, wrong Content-Length, path tricks.
 * Each gets a coded problem+json answer, and the gateway keeps serving. The requests carry a valid
 * certificate-bound access token (issue 4), so what is refused is the HTTP, not the missing token.
 */
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send } from './auth/resource/support/gateway.ts';
import { partnerToken } from './auth/resource/support/oauth.ts';
import { startTestGateway, type TestGateway } from './support/harness.ts';

function raw(t: TestGateway, request: string): Promise<string> {
  const partner = t.partner('acme-tms');
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: '127.0.0.1',
      port: t.gateway.addresses.controlPlane.port,
      ca: partner.ca,
      cert: partner.chain,
      key: partner.key,
      servername: 'localhost',
    });
    let out = '';
    socket.on('secureConnect', () => socket.write(request));
    socket.on('data', (c: Buffer) => {
      out += c.toString('latin1');
    });
    socket.on('end', () => resolve(out));
    socket.on('close', () => resolve(out));
    socket.on('error', reject);
    setTimeout(() => socket.end(), 3_000).unref();
  });
}

const statusOf = (response: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1]);
const codeOf = (response: string): string | undefined => /"code":"([A-Z_]+)"/.exec(response)?.[1];

describe('HTTP abuse on the control plane', () => {
  let t: TestGateway;
  /** `Authorization: Bearer <certificate-bound token of acme-tms>\r\n`, for the raw requests. */
  let auth: string;
  beforeAll(async () => {
    t = await startTestGateway({ name: 'pglite' });
    auth = `Authorization: Bearer ${(await partnerToken(t.url.control, t.partner('acme-tms'), 'acme-tms')).access_token}\r\n`;
  });
  afterAll(async () => t?.stop());

  it('refuses a header block over 16 KiB with 431', async () => {
    const r = await raw(
      t,
      `GET /v1/tenders/x HTTP/1.1\r\nHost: localhost\r\nX-Fill: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    expect(statusOf(r)).toBe(431);
    expect(codeOf(r)).toBe('REQUEST_HEADERS_TOO_LARGE');
  });

  it('refuses thousands of headers', async () => {
    const headers = Array.from({ length: 3_000 }, (_, i) => `X-H${i}: v`).join('\r\n');
    const r = await raw(t, `GET /v1/tenders/x HTTP/1.1\r\nHost: localhost\r\n${headers}\r\n\r\n`);
    expect([431, 400]).toContain(statusOf(r));
  });

  it('refuses Content-Length together with chunked, and a chunk size of ffffffffffffffff', async () => {
    const smuggle = await raw(
      t,
      `POST /v1/tenders HTTP/1.1\r\nHost: localhost\r\n${auth}Content-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    );
    expect(statusOf(smuggle)).toBe(400);
    expect(codeOf(smuggle)).toBe('REQUEST_MALFORMED_HTTP');
    const huge = await raw(
      t,
      `POST /v1/tenders HTTP/1.1\r\nHost: localhost\r\n${auth}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nx\r\n`,
    );
    expect(statusOf(huge)).toBe(400);
  });

  it('refuses a Content-Length shorter than the body (truncated JSON, then bytes that are not HTTP)', async () => {
    const r = await raw(
      t,
      `POST /v1/tenders HTTP/1.1\r\nHost: localhost\r\n${auth}Content-Type: application/json\r\nContent-Length: 5\r\nConnection: close\r\n\r\n{"reference":"x"}`,
    );
    expect(statusOf(r)).toBe(400);
    // Whichever refusal is written first, the request is refused with a code and the connection closed.
    expect(['REQUEST_MALFORMED_JSON', 'REQUEST_MALFORMED_HTTP']).toContain(codeOf(r));
  });

  it('does not resolve path tricks to other routes', async () => {
    for (const path of [
      '/v1/%2e%2e/ops/metrics',
      '/v1/tenders/%252e%252e%252fadmin',
      '//v1/tenders',
      '/v1/tenders/../../healthz',
    ]) {
      const r = await raw(t, `GET ${path} HTTP/1.1\r\nHost: localhost\r\n${auth}Connection: close\r\n\r\n`);
      expect([400, 404]).toContain(statusOf(r));
      expect(r).toMatch(/application\/problem\+json/);
    }
  });

  it('keeps serving after all of it', async () => {
    const res = await send(`${t.url.control}/v1/tenders/tnd_00000000-0000-0000-0000-000000000000`, {
      creds: t.partner('acme-tms'),
      headers: { authorization: auth.slice('Authorization: '.length, -2) },
    });
    expect(res.status).toBe(404);
    expect(res.json().code).toBe('TENDER_NOT_FOUND');
  });
});
