/**
 * Runs the real `fleetgate` bin of this package in a child process, as an operator would, and collects
 * its exit code and output. DATABASE_URL is cleared unless `env` sets it, so a command uses the data
 * directory's own store; a hung command is killed after 120 s. (The gateway's tests have the same runner
 * in packages/gateway/test/support/cli.ts: neither package's tests import the other's test support.)
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'fleetgate.js');

export function fleetgate(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
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
