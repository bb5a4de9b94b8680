/**
 * Answers requests Node's HTTP parser refuses before fastify sees them — header floods over 16 KiB,
 * Content-Length together with Transfer-Encoding: chunked (request smuggling), a chunk size like
 * ffffffffffffffff, garbage request lines — with the same problem+json shape as every other refusal,
 * then closes the connection (its framing can no longer be trusted).
 */
import type { Socket } from 'node:net';
import { GatewayError } from '../errors/gateway-error.ts';

export function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const ge =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? new GatewayError('REQUEST_HEADERS_TOO_LARGE')
      : new GatewayError('REQUEST_MALFORMED_HTTP');
  const body = JSON.stringify(ge.toProblem());
  socket.end(
    `HTTP/1.1 ${ge.status} ${ge.status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
      'Content-Type: application/problem+json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}
