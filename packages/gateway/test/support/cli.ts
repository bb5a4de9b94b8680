/**
 * Runs the real `fleetgate` CLI (packages/cli/bin) in a child process, as an operator would, and collects
 * its exit code and output. DATABASE_URL is cleared unless `env` sets it, so a command uses the data
 * directory's own store rather than the test run's PostgreSQL; a hung command is killed after 120 s.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

/** The bin, for tests that keep a long-running command (a witness server) in their own child process. */
export const FLEETGATE_BIN = join(import.meta.dirname, '..', '..', '..', 'cli', 'bin', 'fleetgate.js');

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

export function fleetgate(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [FLEETGATE_BIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DATABASE_URL: '', ...env },
      timeout: 120_000,
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, out, err }));
  });
}

/** A test gateway as the `audit` commands see it: its public URL and the CA file that pins its TLS. */
interface AuditSource {
  url: { public: string };
  caPath: string;
}

/** `fleetgate audit replicate --once` from the gateway's public URL to `to`, pinned to `vkeyFile` and its CA. */
export function auditReplicateOnce(
  t: AuditSource,
  vkeyFile: string,
  to: string,
  extra: readonly string[] = [],
  env: NodeJS.ProcessEnv = {},
): Promise<CliResult> {
  return fleetgate(
    [
      'audit',
      'replicate',
      '--from',
      t.url.public,
      '--to',
      to,
      '--vkey',
      vkeyFile,
      '--ca',
      t.caPath,
      '--once',
      ...extra,
    ],
    env,
  );
}

/** `fleetgate audit verify --from <from>` pinned to `vkeyFile` and the gateway's CA. */
export function auditVerify(t: AuditSource, vkeyFile: string, from: string): Promise<CliResult> {
  return fleetgate(['audit', 'verify', '--from', from, '--vkey', vkeyFile, '--ca', t.caPath]);
}
