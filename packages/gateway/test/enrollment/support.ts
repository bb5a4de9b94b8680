/**
 * Test support for EST: the real `openssl` CLI makes keys and PKCS#10 requests (an outside authority,
 * not our code), the real `curl` is the EST client, and `openssl base64 -d` + `openssl pkcs7
 * -print_certs` read the responses. Everything lives in a throw-away directory; keys are generated at
 * test time.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditLog } from '../../src/audit/log.ts';
import { createBootstrapToken } from '../../src/pki/enrollment/create-token.ts';
import type { Store } from '../../src/store/store.ts';
import { runPeer } from '../support/run.ts';

export class Workdir {
  readonly dir = mkdtempSync(join(tmpdir(), 'fleetgate-est-'));
  #n = 0;

  path(name: string): string {
    return join(this.dir, name);
  }

  /** A fresh file name with the given suffix. */
  fresh(suffix: string): string {
    this.#n += 1;
    return this.path(`f${this.#n}${suffix}`);
  }

  write(name: string, data: string | Uint8Array): string {
    const path = this.path(name);
    writeFileSync(path, data);
    return path;
  }

  read(path: string): string {
    return readFileSync(path, 'utf8');
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function openssl(args: readonly string[], input?: string | Uint8Array): { code: number; out: string } {
  const result = spawnSync('openssl', args, {
    encoding: 'utf8',
    ...(input === undefined ? {} : { input }),
  });
  if (result.error) throw result.error;
  return { code: result.status ?? -1, out: `${result.stdout}${result.stderr}` };
}

export function mustOpenssl(args: readonly string[], input?: string | Uint8Array): string {
  const r = openssl(args, input);
  if (r.code !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.out}`);
  return r.out;
}

/** `openssl genpkey` of the given algorithm; returns the PEM key path. */
export function genKey(w: Workdir, algorithm: 'ed25519' | 'rsa1024' | 'rsa2048' | 'p256'): string {
  const key = w.fresh('.key.pem');
  const args =
    algorithm === 'ed25519'
      ? ['-algorithm', 'ed25519']
      : algorithm === 'p256'
        ? ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']
        : ['-algorithm', 'RSA', '-pkeyopt', `rsa_keygen_bits:${algorithm === 'rsa1024' ? 1024 : 2048}`];
  mustOpenssl(['genpkey', ...args, '-out', key]);
  return key;
}

/**
 * `openssl req -new` → DER → base64 file (the EST request body). `subject` like "/CN=TRK-001" or "/" for
 * an empty subject; `addext` are `-addext` values (e.g. "subjectAltName=URI:urn:…").
 */
export function csr(w: Workdir, key: string, subject: string, addext: readonly string[] = []): string {
  const der = w.fresh('.csr.der');
  mustOpenssl([
    'req',
    '-new',
    '-key',
    key,
    '-subj',
    subject,
    ...addext.flatMap((e) => ['-addext', e]),
    '-outform',
    'DER',
    '-out',
    der,
  ]);
  const b64 = w.fresh('.csr.b64');
  mustOpenssl(['base64', '-in', der, '-out', b64]);
  return b64;
}

export interface CurlResult {
  status: number;
  body: string;
  headers: string;
}

/** One request with the real curl. `data` is a file path sent with --data-binary. */
export async function curl(
  w: Workdir,
  url: string,
  options: {
    ca: string;
    data?: string;
    contentType?: string;
    bearer?: string;
    cert?: string;
    key?: string;
  },
): Promise<CurlResult> {
  const out = w.fresh('.body');
  const headers = w.fresh('.headers');
  const args = ['-sS', '--tlsv1.3', '--cacert', options.ca, '-o', out, '-D', headers, '-w', '%{http_code}'];
  if (options.data !== undefined) {
    args.push(
      '--data-binary',
      `@${options.data}`,
      '-H',
      `Content-Type: ${options.contentType ?? 'application/pkcs10'}`,
    );
  }
  if (options.bearer !== undefined) args.push('-H', `Authorization: Bearer ${options.bearer}`);
  if (options.cert !== undefined) args.push('--cert', options.cert);
  if (options.key !== undefined) args.push('--key', options.key);
  args.push(url);
  const r = await runPeer('curl', args);
  if (r.code !== 0) throw new Error(`curl failed (${r.code}): ${r.out}`);
  return { status: Number(r.out.trim().slice(-3)), body: w.read(out), headers: w.read(headers) };
}

/** Decodes a base64 certs-only PKCS#7 body with openssl; returns the PEM certificates it printed. */
export function pkcs7Certificates(w: Workdir, base64Body: string): string[] {
  const b64 = w.write(`${Math.random().toString(36).slice(2)}.p7.b64`, base64Body);
  const der = `${b64}.der`;
  mustOpenssl(['base64', '-d', '-in', b64, '-out', der]);
  const printed = mustOpenssl(['pkcs7', '-inform', 'DER', '-in', der, '-print_certs']);
  return printed.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
}

export function problemCode(r: CurlResult): string | undefined {
  try {
    return (JSON.parse(r.body) as { code?: string }).code;
  } catch {
    return undefined;
  }
}

export async function newToken(
  deps: { store: Store; audit: AuditLog; now: () => Date },
  vehicleId: string,
  ttlSeconds = 3600,
): Promise<string> {
  const created = await createBootstrapToken(deps, {
    vehicleId,
    ttlSeconds,
    actor: { kind: 'operator', id: 'test' },
  });
  return created.token;
}

/** The audit entries of one class, parsed, in index order. */
export async function auditEntries(store: Store, cls: string): Promise<Array<Record<string, unknown>>> {
  const rows = await store.query<{ entry: string }>('SELECT entry FROM audit_entries ORDER BY idx');
  return rows.map((r) => JSON.parse(r.entry) as Record<string, unknown>).filter((e) => e.class === cls);
}
