/** Small waiting helpers for tests that run real peers: a free local port, and polling for a condition. */
import { createServer } from 'node:net';

/** A TCP port on 127.0.0.1 that was free a moment ago (for a peer that must be told its port up front). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Polls `check` every 50 ms until it returns a value (not undefined), for at most `ms`; the bound is
 * generous, nothing is asserted about time. `what` names the condition in the error.
 */
export async function until<T>(
  check: () => Promise<T | undefined> | T | undefined,
  ms = 30_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `until` with a named condition and the default bound. */
export function waitFor<T>(check: () => Promise<T | undefined> | T | undefined, what: string): Promise<T> {
  return until(check, 30_000, what);
}
