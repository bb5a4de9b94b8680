/**
 * docs/auth.md's examples, run as written: every `<!-- runnable: curl -->` block through bash with the
 * real curl (its `# →` lines are the expected output: each fragment between `…` must appear), every
 * `<!-- runnable: openid-client -->` block through Node with the real openid-client, and the external
 * issuer configuration through the configuration validator. The only edits are the data directory
 * (`gw/`) and the control plane's port. A loader that finds no block fails.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../../src/config/config.ts';
import { validateConfig } from '../../../src/config/validate.ts';
import { engines } from '../../support/engines.ts';
import { runPeer } from '../../support/run.ts';
import { type AuthTestGateway, startAuthGateway } from './support/gateway.ts';
import { freePort } from './support/oauth.ts';

const root = join(import.meta.dirname, '../../../../..');
const doc = readFileSync(join(root, 'docs/auth.md'), 'utf8');
const blocks = (marker: string) =>
  [...doc.matchAll(new RegExp(`<!-- ${marker} -->\\n\`\`\`[a-z]+\\n([\\s\\S]*?)\\n\`\`\``, 'g'))].map(
    (m) => m[1] as string,
  );

/** The fragments of a block's `# →` comment lines, split at the ellipses. */
function expectedFragments(block: string): string[] {
  const lines = block.split('\n').filter((l) => /^#( →| {2}) /.test(l));
  return lines
    .flatMap((l) => l.replace(/^#( →| {2}) /, '').split('…'))
    .map((f) => f.trim())
    .filter((f) => f !== '');
}

describe('docs/auth.md', () => {
  it('has runnable curl and openid-client examples and a valid external-issuer configuration', () => {
    expect(blocks('runnable: curl').length).toBeGreaterThanOrEqual(2);
    expect(blocks('runnable: openid-client').length).toBeGreaterThanOrEqual(1);
    const configs = blocks('validated: resourceServer');
    expect(configs.length).toBe(1);
    const config = validateConfig({ ...defaultConfig(), resourceServer: JSON.parse(configs[0] as string) });
    expect(config.resourceServer.externalIssuers[0]?.tokenTypes).toEqual(['at+jwt', 'jwt']);
  });
});

for (const engine of engines()) {
  describe(`docs/auth.md examples on ${engine.name}`, () => {
    let t: AuthTestGateway;
    let port: number;

    beforeAll(async () => {
      port = await freePort();
      t = await startAuthGateway(engine, (config) => {
        config.listeners.controlPlane.port = port;
        config.auth.issuer = `https://localhost:${port}`;
      });
    });
    afterAll(async () => t?.stop());

    const localise = (text: string) =>
      text
        .replaceAll('gw/', `${t.dataDir}/`)
        .replaceAll('https://localhost:8443', `https://localhost:${port}`);

    it('runs the curl examples and prints what the page says', async () => {
      for (const block of blocks('runnable: curl')) {
        const { code, out } = await runPeer('bash', ['-euo', 'pipefail', '-c', localise(block)]);
        expect(code, out).toBe(0);
        const fragments = expectedFragments(block);
        expect(fragments.length).toBeGreaterThan(0);
        for (const fragment of fragments)
          expect(out, `expected "${fragment}" in the output`).toContain(fragment);
      }
    });

    it('runs the openid-client example with both bindings', async () => {
      // Inside the repository's node_modules so that openid-client and undici resolve as for a user.
      const dir = join(root, 'node_modules', '.cache', 'fleetgate');
      mkdirSync(dir, { recursive: true });
      for (const block of blocks('runnable: openid-client')) {
        const file = join(dir, `docs-openid-client-${randomUUID()}.mjs`);
        writeFileSync(file, block);
        try {
          const { code, out } = await runPeer('env', [
            `FLEETGATE_DIR=${t.dataDir}`,
            `FLEETGATE_ISSUER=https://localhost:${port}`,
            process.execPath,
            file,
          ]);
          expect(code, out).toBe(0);
          expect(out).toMatch(/^dpop 201 \{/im);
          expect(out).toMatch(/^bearer 201 \{/im);
          expect(out).toContain("status: 'accepted'");
        } finally {
          rmSync(file, { force: true });
        }
      }
    });
  });
}
