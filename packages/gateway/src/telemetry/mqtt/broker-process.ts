/**
 * Runs a Mosquitto broker for fleetgate telemetry (tests, the demo, single-machine deployments): writes
 * the configuration (broker-config.ts), spawns `mosquitto -c <generated>`, waits until the TLS listener
 * accepts connections, and keeps it current — when the CRL, the trust bundle or the server certificate
 * in DIR/pki changes, it sends SIGHUP, on which Mosquitto 2.x re-reads its configuration, certificates
 * and CRL (checked by test/mqtt/broker.test.ts). Without that a revocation would reach the broker only
 * at its next restart, and a CRL past its nextUpdate would make OpenSSL refuse every client.
 *
 * stop() ends only the process it started (by its pid), with SIGTERM, then SIGKILL after a grace period;
 * so does this process's exit, if stop() was never called.
 * The machine may run other brokers (one on 1883 without TLS): this never touches them, and refuses
 * port 1883.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { connect as connectTcp, createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { GatewayError } from '../../errors/gateway-error.ts';
import { type BrokerConfigOptions, type BrokerFiles, writeBrokerConfig } from './broker-config.ts';

export interface StartMosquittoOptions extends BrokerConfigOptions {
  /** The executable. Default `mosquitto` on PATH (Debian: /usr/sbin/mosquitto). */
  binary?: string;
  /** How often DIR/pki is checked for a new CRL or certificate. Default 1,000 ms. */
  watchIntervalMs?: number;
  /** How long to wait for the listener. Default 10,000 ms. */
  startTimeoutMs?: number;
}

export interface RunningBroker {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  readonly files: BrokerFiles;
  /** SIGHUP now: configuration, ACL, certificates and CRL are re-read. */
  reload(): void;
  /** The broker's recent log lines (stderr), for diagnostics. */
  log(): string;
  stop(): Promise<void>;
}

const LOG_TAIL_BYTES = 16 * 1024;

/** The mosquitto executable, or undefined when it is not installed (tests skip visibly then). */
export function findMosquitto(binary = 'mosquitto'): string | undefined {
  for (const candidate of [binary, '/usr/sbin/mosquitto', '/usr/local/sbin/mosquitto']) {
    try {
      execFileSync(candidate, ['-h'], { stdio: 'ignore' });
      return candidate;
    } catch (error) {
      // `mosquitto -h` exits 3 after printing its usage: it exists.
      if ((error as { status?: number }).status === 3) return candidate;
    }
  }
  return undefined;
}

/** A TCP port on 127.0.0.1 that nothing listens on right now, never 1883 (for the broker's listener). */
export function freeLocalPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (typeof address === 'object' && address !== null && address.port !== 1883) resolve(address.port);
        else reject(new GatewayError('SERVICE_UNAVAILABLE', 'no free port'));
      });
    });
  });
}

function fingerprint(paths: readonly string[]): string {
  const hash = createHash('sha256');
  for (const path of paths) hash.update(existsSync(path) ? readFileSync(path) : Buffer.alloc(0)).update('\0');
  return hash.digest('hex');
}

function listening(host: string, port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connectTcp({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}

export async function startMosquitto(options: StartMosquittoOptions): Promise<RunningBroker> {
  const binary = options.binary ?? findMosquitto();
  if (binary === undefined) {
    throw new GatewayError('SERVICE_UNAVAILABLE', 'mosquitto is not installed (apt-get install mosquitto)');
  }
  const files = await writeBrokerConfig(options);
  const child: ChildProcess = spawn(binary, ['-c', files.config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString('utf8')).slice(-LOG_TAIL_BYTES);
  });
  let exited = false;
  const exit = new Promise<void>((done) => {
    child.once('exit', () => done());
    child.once('error', (error) => {
      log += `\nspawn failed: ${error.message}`;
      done();
    });
  });
  void exit.then(() => {
    exited = true;
  });
  // If this process ends without stop() (a crashed test run), the broker goes with it.
  const orphan = (): void => {
    if (!exited) child.kill('SIGTERM');
  };
  process.once('exit', orphan);
  const stop = async (): Promise<void> => {
    clearInterval(watcher);
    process.removeListener('exit', orphan);
    if (exited) return;
    child.kill('SIGTERM');
    const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exit;
    clearTimeout(kill);
  };

  const pki = join(resolve(options.dataDir), 'pki');
  const watched = [join(pki, 'crl.pem'), join(pki, 'ca.pem'), join(pki, 'server', 'chain.pem')];
  let seen = fingerprint(watched);
  const watcher = setInterval(() => {
    const now = fingerprint(watched);
    if (now === seen || exited) return;
    seen = now;
    child.kill('SIGHUP');
  }, options.watchIntervalMs ?? 1_000);
  watcher.unref();

  const deadline = Date.now() + (options.startTimeoutMs ?? 10_000);
  while (!(await listening(files.host, files.port))) {
    if (exited || Date.now() > deadline) {
      await stop();
      const tail = log.trim().split('\n').slice(-5).join(' | ');
      throw new GatewayError('SERVICE_UNAVAILABLE', `mosquitto did not start on ${files.url}: ${tail}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: files.url,
    port: files.port,
    pid: child.pid ?? -1,
    files,
    reload: () => {
      if (!exited) child.kill('SIGHUP');
    },
    log: () => log,
    stop,
  };
}
