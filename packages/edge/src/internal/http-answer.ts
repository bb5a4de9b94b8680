/**
 * Reads the parts of a gateway answer the client acts on: Retry-After (RFC 9110 §10.2.3) and RFC
 * 9457 problem details. The server is a peer, not a trusted party: the body is size-capped by the
 * caller and parsed here defensively — wrong types are dropped, a broken body is no problem at all.
 */

/** RFC 9457 problem details, as far as the body provided them with the right types. */
export interface Problem {
  /** `about:blank` when absent (RFC 9457 §3.1.1). */
  type: string;
  title?: string;
  status?: number;
  /** fleetgate's stable error code. */
  code?: string;
  detail?: string;
}

/** RFC 9110 §10.2.3: delay-seconds or an HTTP-date; anything else is ignored. */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^[0-9]{1,9}$/.test(text)) return Number(text);
  const date = Date.parse(text);
  if (!Number.isFinite(date) || !/GMT$/.test(text)) return undefined;
  return Math.max(0, Math.ceil((date - now) / 1000));
}

/** Keeps only members of the right type; the body is the server's, so it is parsed defensively. */
export function parseProblem(body: Uint8Array): Problem | undefined {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return undefined;
  const o = json as Record<string, unknown>;
  const problem: Problem = { type: typeof o.type === 'string' ? o.type : 'about:blank' };
  if (typeof o.title === 'string') problem.title = o.title;
  if (typeof o.status === 'number' && Number.isInteger(o.status)) problem.status = o.status;
  if (typeof o.code === 'string') problem.code = o.code;
  if (typeof o.detail === 'string') problem.detail = o.detail;
  return problem;
}
