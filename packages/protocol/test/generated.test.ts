/**
 * The committed generated code matches the schema, and the schema passes `buf lint` (STANDARD):
 * a hand-edited gen/ file or a forgotten `npm run generate` fails here (CONVENTIONS.md §11).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);
const buf = join(packageDir, '../../node_modules/.bin/buf');
const protocGenEs = require.resolve('@bufbuild/protoc-gen-es/bin/protoc-gen-es');
const scratch = mkdtempSync(join(tmpdir(), 'fleetgate-gen-'));

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

describe('schema', () => {
  it('passes buf lint', () => {
    expect(() => execFileSync(buf, ['lint'], { cwd: packageDir, stdio: 'pipe' })).not.toThrow();
  });

  it('matches the committed generated code', () => {
    // Same options as buf.gen.yaml, with the plugin run by this Node so PATH does not matter.
    const template = {
      version: 'v2',
      plugins: [
        { local: [process.execPath, protocGenEs], out: 'gen', opt: ['target=js+dts', 'import_extension=js'] },
      ],
    };
    const templateFile = join(scratch, 'buf.gen.json');
    writeFileSync(templateFile, JSON.stringify(template));
    execFileSync(buf, ['generate', '--template', templateFile, '--output', scratch], {
      cwd: packageDir,
      stdio: 'pipe',
    });
    const committed = join(packageDir, 'gen');
    const fresh = join(scratch, 'gen');
    const files = listFiles(committed);
    expect(files).toEqual(listFiles(fresh));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      expect(readFileSync(join(fresh, file), 'utf8'), file).toBe(readFileSync(join(committed, file), 'utf8'));
    }
  });
});
