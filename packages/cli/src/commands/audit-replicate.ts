/**
 * `fleetgate audit replicate --from URL --to DIR|URL --vkey FILE [--ca FILE] [--to-ca FILE]
 * [--to-token-env NAME] [--once] [--interval-ms N]`: an offsite replica of the audit log (docs/audit.md
 * "Replica"). Follows the gateway's public read API, accepts new entries only after their root equals the
 * signed checkpoint's and the gateway's consistency proof from the held size verifies, and writes them
 * append-only. A round covers at most about a million entries; while the replica is behind, the next
 * round starts at once (with --once too: --once exits when the replica is up to date).
 *
 * An https:// --to authenticates with the bearer token in the environment variable named by
 * --to-token-env; credentials in the URL are refused (REPLICA_USAGE) and the URL is never printed with
 * them.
 *
 * Exit codes: 0 (with --once: the replica is up to date), 1 a refusal that leaves the replica unchanged
 * (bad signature, unreachable gateway — retried each interval without --once), 3 an ALARM (fork or
 * rewind; also when an ALARM file is already there): one `fleetgate: <CODE>: …` line on stderr.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ReplicaError } from '@fleetgate/gateway/audit/replica/errors';
import { replicateOnce } from '@fleetgate/gateway/audit/replica/follow';
import { dirTarget, type ReplicaTarget, urlTarget } from '@fleetgate/gateway/audit/replica/target';
import { parsePinnedAuditKeys } from '@fleetgate/gateway/audit/verify-keys';
import { Command, InvalidArgumentError } from 'commander';

interface Options {
  from: string;
  to: string;
  vkey: string;
  ca?: string;
  toCa?: string;
  toTokenEnv?: string;
  once?: boolean;
  intervalMs: number;
}

function positiveInt(value: string): number {
  if (!/^[1-9][0-9]{0,8}$/.test(value)) throw new InvalidArgumentError('a positive integer (milliseconds)');
  return Number(value);
}

export async function runReplicate(opts: Options, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let keys: ReturnType<typeof parsePinnedAuditKeys>;
  try {
    keys = parsePinnedAuditKeys(readFileSync(resolve(opts.vkey), 'utf8'));
  } catch (error) {
    console.error(`fleetgate: REPLICA_USAGE: --vkey ${opts.vkey}: ${(error as Error).message}`);
    return 1;
  }
  const ca = opts.ca === undefined ? undefined : readFileSync(resolve(opts.ca), 'utf8');
  const toCa = opts.toCa === undefined ? ca : readFileSync(resolve(opts.toCa), 'utf8');
  let target: ReplicaTarget;
  try {
    target = makeTarget(opts, toCa, env);
  } catch (error) {
    if (!(error instanceof ReplicaError)) throw error;
    console.error(`fleetgate: ${error.code}: ${error.message}`);
    return 1;
  }
  for (;;) {
    try {
      const round = await replicateOnce({
        from: opts.from,
        http: ca === undefined ? {} : { ca },
        target,
        keys,
      });
      console.log(
        round.to === round.from
          ? `replica: up to date at size ${round.to}`
          : `replica: accepted entries ${round.from}..${round.to - 1}, now at size ${round.to}`,
      );
      if (round.to < round.latest) continue; // behind: the next round at once
      if (opts.once === true) return 0;
    } catch (error) {
      if (!(error instanceof ReplicaError)) throw error;
      console.error(`fleetgate: ${error.code}: ${error.message}`);
      if (error.exitCode === 3 || opts.once === true) return error.exitCode;
    }
    await sleep(opts.intervalMs);
  }
}

/** A directory, or an https:// base (no credentials in it) with an optional bearer token from `env`. */
function makeTarget(opts: Options, toCa: string | undefined, env: NodeJS.ProcessEnv): ReplicaTarget {
  const isUrl = /^[a-z][a-z0-9+.-]*:\/\//i.test(opts.to);
  if (!isUrl) {
    if (opts.toTokenEnv !== undefined) {
      throw new ReplicaError('REPLICA_USAGE', '--to-token-env needs an https:// --to');
    }
    return dirTarget(resolve(opts.to));
  }
  let bearerToken: string | undefined;
  if (opts.toTokenEnv !== undefined) {
    bearerToken = env[opts.toTokenEnv];
    if (bearerToken === undefined || bearerToken === '') {
      throw new ReplicaError('REPLICA_USAGE', `environment variable ${opts.toTokenEnv} is not set`);
    }
    if (!/^[\x21-\x7e]+$/.test(bearerToken)) {
      throw new ReplicaError('REPLICA_USAGE', `environment variable ${opts.toTokenEnv} is not a token`);
    }
  }
  return urlTarget(
    opts.to,
    toCa === undefined ? {} : { ca: toCa },
    bearerToken === undefined ? {} : { bearerToken },
  );
}

export function auditReplicateCommand(setExit: (code: number) => void): Command {
  return new Command('replicate')
    .description('follow a gateway and keep a verified, append-only replica of its audit log')
    .requiredOption('--from <url>', "the gateway's public listener, e.g. https://gateway:8443")
    .requiredOption(
      '--to <dir|url>',
      'a directory, or an https:// base URL taking PUT (WebDAV, object store)',
    )
    .requiredOption('--vkey <file>', 'the two pinned verifier keys (GET /v1/audit/vkey, given out of band)')
    .option('--ca <file>', "CA certificates (PEM) for the gateway's public listener")
    .option('--to-ca <file>', 'CA certificates (PEM) for an https:// --to (default: --ca)')
    .option(
      '--to-token-env <name>',
      'environment variable holding a bearer token for an https:// --to (never put credentials in --to)',
    )
    .option('--once', 'one round, then exit')
    .option('--interval-ms <n>', 'time between rounds', positiveInt, 10_000)
    .action(async (opts: Options) => {
      setExit(await runReplicate(opts));
    });
}
