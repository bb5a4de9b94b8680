/**
 * scripts/breaking.sh — `buf breaking` against the schemas' previous version in git — on scratch
 * repositories with a real git and the real buf: a removed field fails, an added one passes, no earlier
 * version passes and says so, the latest release tag is preferred over the previous commit, uncommitted
 * schema changes are checked against HEAD. Then on this repository itself, so `npm test` (and CI) fails
 * on a breaking schema change.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const script = join(packageDir, 'scripts', 'breaking.sh');
const buf = join(packageDir, '../../node_modules/.bin/buf');
const scratch = mkdtempSync(join(tmpdir(), 'fleetgate-breaking-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const BUF_YAML = 'version: v2\nmodules:\n  - path: proto\nbreaking:\n  use:\n    - FILE\n';
const schema = (fields: string) => `syntax = "proto3";\npackage demo.v1;\nmessage Batch {\n${fields}}\n`;

let repos = 0;
function repo(): { dir: string; git: (...args: string[]) => string; write: (proto: string) => void } {
  const dir = join(scratch, `repo-${repos++}`);
  const pkg = join(dir, 'packages', 'protocol');
  mkdirSync(join(pkg, 'scripts'), { recursive: true });
  copyFileSync(script, join(pkg, 'scripts', 'breaking.sh'));
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.test', ...args], {
      cwd: dir,
      encoding: 'utf8',
    });
  git('init', '-q', '-b', 'main');
  git('add', '.');
  git('commit', '-q', '-m', 'start');
  return {
    dir,
    git,
    write: (proto) => {
      mkdirSync(join(pkg, 'proto', 'demo', 'v1'), { recursive: true });
      writeFileSync(join(pkg, 'buf.yaml'), BUF_YAML);
      writeFileSync(join(pkg, 'proto', 'demo', 'v1', 'demo.proto'), proto);
    },
  };
}

function run(dir: string, env: NodeJS.ProcessEnv = {}) {
  return spawnSync('bash', [join(dir, 'packages', 'protocol', 'scripts', 'breaking.sh')], {
    encoding: 'utf8',
    env: { ...process.env, BUF: buf, FLEETGATE_BUF_AGAINST: '', ...env },
  });
}

describe('scripts/breaking.sh', () => {
  it('passes, and says why, when there is no earlier version of the schemas', () => {
    const r = repo();
    r.write(schema('  string vehicle_id = 1;\n'));
    r.git('add', '.');
    r.git('commit', '-q', '-m', 'schemas');
    const result = run(r.dir);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/does not exist at [0-9a-f]+ \(HEAD's first parent\): no earlier version/);
  });

  it("fails on a removed field against HEAD's first parent, passes on an added one", () => {
    const r = repo();
    r.write(schema('  string vehicle_id = 1;\n  string load_id = 2;\n'));
    r.git('add', '.');
    r.git('commit', '-q', '-m', 'v1');
    r.write(schema('  string vehicle_id = 1;\n'));
    r.git('commit', '-q', '-am', 'remove load_id');
    const broken = run(r.dir);
    expect(broken.status).not.toBe(0);
    expect(broken.stdout + broken.stderr).toMatch(/load_id|deleted/i);
    r.git('reset', '-q', '--hard', 'HEAD^');
    r.write(schema('  string vehicle_id = 1;\n  string load_id = 2;\n  uint64 first_sequence = 3;\n'));
    r.git('commit', '-q', '-am', 'add a field');
    const added = run(r.dir);
    expect(added.status, added.stdout + added.stderr).toBe(0);
    expect(added.stdout).toMatch(/no breaking change/);
  });

  it('checks uncommitted schema changes against HEAD, and prefers the latest release tag', () => {
    const r = repo();
    r.write(schema('  string vehicle_id = 1;\n  string load_id = 2;\n'));
    r.git('add', '.');
    r.git('commit', '-q', '-m', 'v1');
    r.write(schema('  string vehicle_id = 1;\n'));
    const dirty = run(r.dir);
    expect(dirty.stdout).toMatch(/against [0-9a-f]+ \(HEAD \(the working tree changes the schemas\)\)/);
    expect(dirty.status).not.toBe(0);
    r.git('tag', 'v1.0.0');
    r.git('commit', '-q', '-am', 'remove load_id');
    r.write(schema('  string vehicle_id = 1;\n  reserved 2;\n  reserved "load_id";\n'));
    r.git('commit', '-q', '-am', 'reserve it');
    // Against the previous commit this is compatible; against the release it still lost a field.
    const release = run(r.dir);
    expect(release.stdout).toMatch(/the latest release tag v1\.0\.0/);
    expect(release.status).not.toBe(0);
    expect(run(r.dir, { FLEETGATE_BUF_AGAINST: 'HEAD^' }).status).toBe(0);
  });

  // Outside a git checkout there is nothing to compare against: reported as skipped, never as a pass.
  const inGit = spawnSync('git', ['-C', packageDir, 'rev-parse'], { stdio: 'ignore' }).status === 0;
  it.skipIf(!inGit)('finds no breaking change in this repository', () => {
    const result = spawnSync('bash', [script], { encoding: 'utf8', env: { ...process.env, BUF: buf } });
    expect(result.status, result.stdout + result.stderr).toBe(0);
  });
});
