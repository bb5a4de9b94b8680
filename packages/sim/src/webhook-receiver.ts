/**
 * A TMS's webhook receiver (issue 6 §5): an HTTPS server that takes the gateway's Standard Webhooks
 * deliveries, checks each signature with the endpoint's secret before believing anything in it (the
 * `verify` function is the gateway's published verifier, passed in so this package stays free of the
 * server), answers 2xx only for authentic deliveries, deduplicates on webhook-id (delivery is
 * at-least-once) and counts what it saw. Now and then it answers 503 on purpose, so the gateway's retry
 * with backoff shows in the demo.
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface WebhookReceiverStats {
  /** Authentic, first-seen deliveries, by event type. */
  byType: Record<string, number>;
  /** Deliveries whose signature or timestamp did not verify (answered 400). */
  refused: number;
  /** Redeliveries of a webhook-id already processed (answered 200, not counted again). */
  duplicates: number;
  /** 503s answered on purpose (the gateway retries those). */
  failedOnPurpose: number;
}

export type VerifyDelivery = (
  secret: string,
  headers: Readonly<Record<string, string | readonly string[] | undefined>>,
  body: Uint8Array,
) => void;

const MAX_BODY_BYTES = 256 * 1024;

export class WebhookReceiver {
  readonly stats: WebhookReceiverStats = { byType: {}, refused: 0, duplicates: 0, failedOnPurpose: 0 };
  /** Set once the endpoint is registered: the whsec_ secret the gateway returned. */
  secret: string | undefined;
  readonly #server: Server;
  readonly #verify: VerifyDelivery;
  readonly #seen = new Set<string>();
  readonly #failOneIn: number;
  #requests = 0;

  constructor(options: {
    /** PEM certificate chain and key the receiver serves (a name the gateway can verify). */
    cert: string;
    key: string;
    verify: VerifyDelivery;
    /** Answer 503 to one request in this many (0: never). */
    failOneIn?: number;
  }) {
    this.#verify = options.verify;
    this.#failOneIn = options.failOneIn ?? 0;
    this.#server = createServer(
      { cert: options.cert, key: options.key, minVersion: 'TLSv1.2' },
      (req, res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        req.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY_BYTES) req.destroy();
          else chunks.push(chunk);
        });
        req.on('end', () => {
          const body = Buffer.concat(chunks);
          const answer = (status: number) => res.writeHead(status, { 'content-type': 'text/plain' }).end();
          if (req.method !== 'POST' || this.secret === undefined) return answer(404);
          try {
            this.#verify(this.secret, req.headers, body);
          } catch {
            this.stats.refused += 1;
            return answer(400);
          }
          this.#requests += 1;
          if (this.#failOneIn > 0 && this.#requests % this.#failOneIn === 0) {
            this.stats.failedOnPurpose += 1;
            return answer(503);
          }
          const id = String(req.headers['webhook-id']);
          if (this.#seen.has(id)) {
            this.stats.duplicates += 1;
            return answer(200);
          }
          this.#seen.add(id);
          let type = 'unknown';
          try {
            type = String((JSON.parse(body.toString('utf8')) as { type?: unknown }).type);
          } catch {
            // A verified but unparsable body still counts, as `unknown`.
          }
          this.stats.byType[type] = (this.stats.byType[type] ?? 0) + 1;
          return answer(204);
        });
      },
    );
  }

  /** Listens on 127.0.0.1 (port 0: any free one); answers the port. */
  listen(port = 0): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, '127.0.0.1', () => resolve((this.#server.address() as AddressInfo).port));
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }
}
