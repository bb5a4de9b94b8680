/**
 * One delivery attempt to a partner's endpoint, under the SSRF rules (docs/tendering.md "Webhooks",
 * SECURITY-CHECKLIST "Authorization": webhook URLs pointing at internal addresses):
 *   1. resolve the host ourselves (every address, dns.lookup `all`), and refuse the attempt when ANY of
 *      them is internal (address-policy.ts; NAT64 addresses judged by the IPv4 address they reach, under
 *      64:ff9b::/96 and the site's `webhooks.nat64Prefixes`) — unless `allowPrivateAddresses` (tests,
 *      development);
 *   2. connect to the address we vetted, pinned: the request's `lookup` answers only that address, so a
 *      second resolution (DNS rebinding) cannot switch the target after the check;
 *   3. TLS verified against the system roots (plus `webhooks.trustedCaFile`), servername = the URL's host,
 *      under the outbound TLS policy (http/outbound-tls.ts: TLS 1.2 with ECDHE + AEAD suites only, or 1.3);
 *   4. never follow a redirect: 3xx is a failed, recorded, audited attempt;
 *   5. read at most 64 KiB of the answer and give up after `timeoutMs` for the whole attempt.
 * The outcome is a code (errors/codes.ts WEBHOOK_TARGET_*), never an exception.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request } from 'node:https';
import { isIP } from 'node:net';
import { outboundTlsOptions } from '../http/outbound-tls.ts';
import { isInternalAddress, type Nat64Prefix } from './address-policy.ts';

export const MAX_RESPONSE_BYTES = 64 * 1024;

export type AttemptFailure =
  | 'WEBHOOK_TARGET_INTERNAL'
  | 'WEBHOOK_TARGET_REDIRECT'
  | 'WEBHOOK_TARGET_NOT_ALLOWED'
  | 'WEBHOOK_TARGET_UNREACHABLE'
  | 'WEBHOOK_TARGET_TLS'
  | 'WEBHOOK_TARGET_TIMEOUT'
  | 'WEBHOOK_TARGET_STATUS';

/** Failures that are security refusals (audited as webhook.target.refused), not receiver trouble. */
export const REFUSALS: readonly AttemptFailure[] = [
  'WEBHOOK_TARGET_INTERNAL',
  'WEBHOOK_TARGET_REDIRECT',
  'WEBHOOK_TARGET_NOT_ALLOWED',
];

export type AttemptOutcome =
  | { ok: true; statusCode: number; durationMs: number }
  | { ok: false; code: AttemptFailure; statusCode: number | null; durationMs: number };

export interface DeliverOptions {
  timeoutMs: number;
  allowPrivateAddresses: boolean;
  /** Trust anchors (PEM) replacing Node's default roots; undefined: the default roots. */
  ca: readonly string[] | undefined;
  /** The site's NAT64 /96 prefixes (webhooks.nat64Prefixes, parsed); 64:ff9b::/96 always counts. */
  nat64Prefixes?: readonly Nat64Prefix[];
  /** Resolution, replaceable for tests of the address rule; default dns.lookup with `all`. */
  resolve?: (host: string) => Promise<LookupAddress[]>;
}

function resolveAll(host: string): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) => {
    dnsLookup(host, { all: true, verbatim: true }, (error, addresses) =>
      error ? reject(error) : resolve(addresses),
    );
  });
}

// EPROTO: OpenSSL failed the handshake during a socket write (an alert such as handshake_failure, e.g.
// a receiver offering no suite of the outbound policy); https.request reports it so.
const TLS_ERROR = /^(CERT_|ERR_TLS_|ERR_SSL_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH|EPROTO$)/;

function failureOf(error: unknown): AttemptFailure {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && TLS_ERROR.test(code)) return 'WEBHOOK_TARGET_TLS';
  return 'WEBHOOK_TARGET_UNREACHABLE';
}

/** The address an attempt may connect to, or why there is none. */
export async function vetTarget(
  url: URL,
  options: Pick<DeliverOptions, 'allowPrivateAddresses' | 'resolve' | 'nat64Prefixes'>,
): Promise<{ address: string; family: 4 | 6 } | { refused: AttemptFailure }> {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  let addresses: LookupAddress[];
  if (isIP(host) !== 0) addresses = [{ address: host, family: isIP(host) }];
  else {
    try {
      addresses = await (options.resolve ?? resolveAll)(host);
    } catch {
      return { refused: 'WEBHOOK_TARGET_UNREACHABLE' };
    }
  }
  if (addresses.length === 0) return { refused: 'WEBHOOK_TARGET_UNREACHABLE' };
  const nat64 = options.nat64Prefixes ?? [];
  if (!options.allowPrivateAddresses && addresses.some((a) => isInternalAddress(a.address, nat64)))
    return { refused: 'WEBHOOK_TARGET_INTERNAL' };
  const first = addresses[0] as LookupAddress;
  return { address: first.address, family: first.family === 6 ? 6 : 4 };
}

/** POSTs `body` with `headers` to `url` once; resolves with the outcome, never rejects. */
export async function deliverOnce(
  url: URL,
  body: string,
  headers: Record<string, string>,
  options: DeliverOptions,
): Promise<AttemptOutcome> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), options.timeoutMs);
  });
  try {
    const vetted = await Promise.race([vetTarget(url, options), deadline]);
    if (vetted === 'timeout')
      return { ok: false, code: 'WEBHOOK_TARGET_TIMEOUT', statusCode: null, durationMs: elapsed() };
    if ('refused' in vetted)
      return { ok: false, code: vetted.refused, statusCode: null, durationMs: elapsed() };
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    return await new Promise<AttemptOutcome>((resolve) => {
      let settled = false;
      const finish = (outcome: AttemptOutcome) => {
        if (settled) return;
        settled = true;
        req.destroy();
        resolve(outcome);
      };
      const req = request(
        {
          method: 'POST',
          hostname: host,
          port: url.port === '' ? 443 : Number(url.port),
          path: `${url.pathname}${url.search}`,
          headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
          agent: false,
          // Pinned: whatever asks, the answer is the address vetted above.
          lookup: (_hostname, opts, callback) => {
            const cb = callback as (...args: unknown[]) => void;
            if ((opts as { all?: boolean }).all)
              cb(null, [{ address: vetted.address, family: vetted.family }]);
            else cb(null, vetted.address, vetted.family);
          },
          ...(isIP(host) === 0 ? { servername: host } : {}),
          ...(options.ca === undefined ? {} : { ca: [...options.ca] }),
          rejectUnauthorized: true,
          ...outboundTlsOptions(),
        },
        (res) => {
          const status = res.statusCode ?? 0;
          let read = 0;
          const done = () => {
            const outcome: AttemptOutcome =
              status >= 200 && status < 300
                ? { ok: true, statusCode: status, durationMs: elapsed() }
                : {
                    ok: false,
                    code: status >= 300 && status < 400 ? 'WEBHOOK_TARGET_REDIRECT' : 'WEBHOOK_TARGET_STATUS',
                    statusCode: status,
                    durationMs: elapsed(),
                  };
            finish(outcome);
          };
          res.on('data', (chunk: Buffer) => {
            read += chunk.length;
            if (read >= MAX_RESPONSE_BYTES) done(); // enough: the status decides, not the body
          });
          res.on('end', done);
          res.on('error', done);
        },
      );
      req.on('error', (error) =>
        finish({ ok: false, code: failureOf(error), statusCode: null, durationMs: elapsed() }),
      );
      void deadline.then(() =>
        finish({ ok: false, code: 'WEBHOOK_TARGET_TIMEOUT', statusCode: null, durationMs: elapsed() }),
      );
      req.end(body);
    });
  } finally {
    clearTimeout(timer);
  }
}
