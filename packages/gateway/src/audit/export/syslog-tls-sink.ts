/**
 * Syslog over TLS sink (RFC 5425): RFC 5424 messages (syslog-format.ts), octet-counted, over one
 * long-lived TLS connection to the collector, whose certificate must chain to `caFile` and match the
 * server name; an optional client certificate for collectors that require mutual TLS. TLS follows the
 * outbound policy (http/outbound-tls.ts: TLS 1.2 with ECDHE + AEAD suites only, or TLS 1.3).
 *
 * Acknowledgement: RFC 5425 has NONE at the application layer, so for the batch in flight this sink is
 * AT-MOST-ONCE when the connection resets: a batch counts as delivered when the TLS layer has accepted
 * every byte of it (the write callback: handed to the kernel, not read by the collector) and the
 * connection then stayed up for `settleMs` (default 100 ms). A collector that is gone or resets the
 * connection as the batch arrives is usually noticed inside that window (its RST comes back within a
 * round trip) and the batch fails and is sent again — a duplicate at worst, never a loss. A reset after
 * the window, or a collector that accepted the bytes into its socket buffer and then crashed, loses what
 * was in flight: the runner has already moved the cursor past it. docs/audit.md "SIEM export" says so;
 * the jsonl and https sinks acknowledge every batch. Any error closes the connection; the runner retries
 * the batch with backoff and the next delivery reconnects.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { connect, type TLSSocket } from 'node:tls';
import { outboundTlsOptions } from '../../http/outbound-tls.ts';
import { ExportDeliveryError, type ExportRecord, type ExportSink } from './sink.ts';
import { octetFrame, syslogMessage } from './syslog-format.ts';

export interface SyslogTlsSinkOptions {
  name: string;
  host: string;
  port: number;
  ca: string;
  cert?: string;
  key?: string;
  servername?: string;
  /** RFC 5424 HOSTNAME; default the machine's host name. */
  hostname?: string;
  connectTimeoutMs?: number;
  /** How long the connection must stay up after a batch's write before it counts (0: not waited). */
  settleMs?: number;
}

export const DEFAULT_SETTLE_MS = 100;

export function syslogTlsSinkFromFiles(
  options: Omit<SyslogTlsSinkOptions, 'ca' | 'cert' | 'key'> & {
    caFile: string;
    certFile?: string;
    keyFile?: string;
  },
): SyslogTlsSink {
  const { caFile, certFile, keyFile, ...rest } = options;
  return new SyslogTlsSink({
    ...rest,
    ca: readFileSync(caFile, 'utf8'),
    ...(certFile === undefined ? {} : { cert: readFileSync(certFile, 'utf8') }),
    ...(keyFile === undefined ? {} : { key: readFileSync(keyFile, 'utf8') }),
  });
}

export class SyslogTlsSink implements ExportSink {
  readonly name: string;
  readonly #options: SyslogTlsSinkOptions;
  readonly #header: { hostname: string; appName: string; procId: string };
  #socket: TLSSocket | undefined;

  constructor(options: SyslogTlsSinkOptions) {
    this.name = options.name;
    this.#options = options;
    this.#header = {
      hostname: options.hostname ?? hostname(),
      appName: 'fleetgate',
      procId: String(process.pid),
    };
  }

  async deliver(batch: readonly ExportRecord[], signal: AbortSignal): Promise<void> {
    if (batch.length === 0) return;
    const socket = await this.#connected(signal);
    const frames = Buffer.concat(batch.map((r) => octetFrame(syslogMessage(r, this.#header))));
    try {
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => reject(signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
        const onError = (error: Error) => reject(error);
        socket.once('error', onError);
        socket.write(frames, (error) => {
          signal.removeEventListener('abort', onAbort);
          socket.off('error', onError);
          if (error) reject(error);
          else resolve();
        });
      });
      await this.#settled(socket, signal);
    } catch (error) {
      this.#drop();
      throw new ExportDeliveryError(`syslog sink ${this.name}: write failed`, { cause: error });
    }
  }

  async close(): Promise<void> {
    const socket = this.#socket;
    this.#socket = undefined;
    if (socket === undefined || socket.destroyed) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        socket.destroy();
        resolve();
      }, 2_000);
      timer.unref();
      socket.end(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Resolves once the connection stayed up `settleMs` after the write; rejects if it went down. */
  #settled(socket: TLSSocket, signal: AbortSignal): Promise<void> {
    const ms = this.#options.settleMs ?? DEFAULT_SETTLE_MS;
    if (ms <= 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      if (socket.destroyed || !socket.writable) {
        reject(new Error('the collector closed the connection after the write'));
        return;
      }
      const cleanup = () => {
        clearTimeout(timer);
        socket.off('close', onClose);
        socket.off('end', onClose);
        signal.removeEventListener('abort', onAbort);
      };
      const onClose = () => {
        cleanup();
        reject(new Error('the collector closed the connection right after the write'));
      };
      const onAbort = () => {
        cleanup();
        reject(signal.reason);
      };
      const timer = setTimeout(() => {
        cleanup();
        resolve();
      }, ms);
      socket.once('close', onClose);
      socket.once('end', onClose);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  #drop(): void {
    this.#socket?.destroy();
    this.#socket = undefined;
  }

  async #connected(signal: AbortSignal): Promise<TLSSocket> {
    const existing = this.#socket;
    if (existing !== undefined && !existing.destroyed && existing.writable) return existing;
    this.#drop();
    const o = this.#options;
    const socket = connect({
      host: o.host,
      port: o.port,
      servername: o.servername ?? o.host,
      ca: o.ca,
      ...(o.cert === undefined ? {} : { cert: o.cert }),
      ...(o.key === undefined ? {} : { key: o.key }),
      ...outboundTlsOptions(),
      rejectUnauthorized: true,
    });
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('connect timed out')), o.connectTimeoutMs ?? 10_000);
        const onAbort = () => reject(signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
        };
        socket.once('secureConnect', () => {
          done();
          resolve();
        });
        socket.once('error', (error) => {
          done();
          reject(error);
        });
      });
    } catch (error) {
      socket.destroy();
      throw new ExportDeliveryError(`syslog sink ${this.name}: cannot connect to ${o.host}:${o.port}`, {
        cause: error,
      });
    }
    // Later errors (the collector closing) only mark the connection dead; the next delivery reconnects.
    socket.on('error', () => socket.destroy());
    // The collector sends nothing in RFC 5425; read and discard so a chatty peer cannot fill buffers.
    socket.on('data', () => undefined);
    this.#socket = socket;
    return socket;
  }
}
