/**
 * Syslog over TLS sink (RFC 5425): RFC 5424 messages (syslog-format.ts), octet-counted, over one
 * long-lived TLS 1.2+ connection to the collector, whose certificate must chain to `caFile` and match
 * the server name; an optional client certificate for collectors that require mutual TLS.
 *
 * Acknowledgement: RFC 5425 has none at the application layer. A batch counts as delivered when the TLS
 * layer has accepted every byte of it (the write callback) — a connection that fails after that may lose
 * what was still in flight on the wire. That is the transport's limit, documented in docs/audit.md "SIEM
 * export"; the jsonl and https sinks give a stronger acknowledgement. Any error closes the connection;
 * the runner retries the batch with backoff and the next delivery reconnects.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { connect, type TLSSocket } from 'node:tls';
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
}

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
      minVersion: 'TLSv1.2',
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
