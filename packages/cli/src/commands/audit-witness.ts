/**
 * `fleetgate audit witness`: a C2SP tlog-witness (docs/audit.md "Witness").
 *
 *   fleetgate audit witness init --state DIR --name NAME
 *       creates the witness's Ed25519 cosigning key (0600) and prints its cosignature/v1 verifier key;
 *   fleetgate audit witness [serve] --state DIR --log VKEYFILE [--log ...] --listen HOST:PORT
 *                           (--tls-cert FILE --tls-key FILE | --insecure-loopback)
 *       serves POST /add-checkpoint for the logs whose vkey.txt files (both keys) are given, until
 *       SIGINT/SIGTERM. Prints "witness listening on <url>" once ready. Logs are JSON lines on stderr.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { initWitness, loadWitness } from '@fleetgate/gateway/audit/witness/identity';
import { startWitnessServer, type WitnessLogger } from '@fleetgate/gateway/audit/witness/server';
import { acquireProcessLock, WitnessStateStore } from '@fleetgate/gateway/audit/witness/state';
import { Witness, witnessedLogFromVkeys } from '@fleetgate/gateway/audit/witness/witness';
import { Command, InvalidArgumentError } from 'commander';

function jsonLogger(): WitnessLogger {
  const line = (level: string, obj: object, msg: string): void => {
    process.stderr.write(`${JSON.stringify({ level, time: new Date().toISOString(), msg, ...obj })}\n`);
  };
  return {
    info: (obj, msg) => line('info', obj, msg),
    warn: (obj, msg) => line('warn', obj, msg),
    error: (obj, msg) => line('error', obj, msg),
  };
}

function listenAddress(value: string): { host: string; port: number } {
  const match = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  const port = Number(match?.[2]);
  if (match === null || port > 65535) throw new InvalidArgumentError('expected HOST:PORT');
  return { host: (match[1] as string).replace(/^\[|\]$/g, ''), port };
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

interface ServeOptions {
  state: string;
  log: string[];
  listen: { host: string; port: number };
  tlsCert?: string;
  tlsKey?: string;
  insecureLoopback?: boolean;
  maxBodyBytes?: string;
}

function serveCommand(setExit: (code: number) => void): Command {
  return new Command('serve')
    .description('serve POST /add-checkpoint: cosign checkpoints consistent with the last one cosigned')
    .requiredOption('--state <dir>', 'state directory created by `fleetgate audit witness init`')
    .option('--log <vkeyfile>', "a witnessed log's vkey.txt (its two verifier keys); repeatable", collect, [])
    .option('--listen <host:port>', 'address to listen on', listenAddress, { host: '127.0.0.1', port: 7380 })
    .option('--tls-cert <file>', 'PEM certificate chain of this witness (TLS 1.3)')
    .option('--tls-key <file>', 'PEM private key of that certificate')
    .option('--insecure-loopback', 'plain HTTP on a loopback address, for development only')
    .option('--max-body-bytes <n>', 'largest request body accepted', '65536')
    .action(async (opts: ServeOptions) => {
      if (opts.log.length === 0) throw new Error('give at least one --log VKEYFILE');
      if ((opts.tlsCert === undefined) !== (opts.tlsKey === undefined)) {
        throw new Error('give both --tls-cert and --tls-key');
      }
      const maxBodyBytes = Number(opts.maxBodyBytes);
      if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 1024 || maxBodyBytes > 1024 * 1024) {
        throw new Error('--max-body-bytes must be an integer in [1024, 1048576]');
      }
      const stateDir = resolve(opts.state);
      const identity = loadWitness(stateDir);
      const logs = opts.log.map((file) => witnessedLogFromVkeys(readFileSync(file, 'utf8').split('\n')));
      const release = acquireProcessLock(stateDir);
      const logger = jsonLogger();
      try {
        const witness = new Witness({ identity, logs, state: new WitnessStateStore(stateDir) });
        const running = await startWitnessServer({
          witness,
          host: opts.listen.host,
          port: opts.listen.port,
          ...(opts.tlsCert !== undefined && opts.tlsKey !== undefined
            ? { tls: { cert: readFileSync(opts.tlsCert, 'utf8'), key: readFileSync(opts.tlsKey, 'utf8') } }
            : {}),
          insecureLoopback: opts.insecureLoopback === true,
          maxBodyBytes,
          logger,
        });
        logger.info({ name: identity.name, logs: logs.map((l) => l.origin) }, 'witness started');
        console.log(`witness listening on ${running.url}`);
        await new Promise<void>((done) => {
          process.once('SIGINT', done);
          process.once('SIGTERM', done);
        });
        await running.close();
      } finally {
        release();
      }
      setExit(0);
    });
}

function initCommand(setExit: (code: number) => void): Command {
  return new Command('init')
    .description("create the witness's Ed25519 key and print its verifier key (cosignature/v1)")
    .requiredOption('--state <dir>', 'state directory to create')
    .requiredOption('--name <name>', 'witness name, a schema-less URL such as witness.example/w1')
    .action((opts: { state: string; name: string }) => {
      const identity = initWitness(resolve(opts.state), opts.name);
      console.log(identity.vkey);
      setExit(0);
    });
}

export function auditWitnessCommand(setExit: (code: number) => void): Command {
  return new Command('witness')
    .description('a C2SP tlog-witness: cosign checkpoints after checking consistency with the last one')
    .addCommand(initCommand(setExit))
    .addCommand(serveCommand(setExit), { isDefault: true });
}
