/**
 * GatewayError carries a stable code, the peer-visible detail, and optional internal detail for the log.
 * toProblem() renders RFC 9457 problem+json; nothing internal leaves the process.
 */
import { ERROR_CODES, ERROR_TYPE_BASE, type ErrorCode } from './codes.ts';

export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  detail?: string;
  instance?: string;
  [extension: string]: unknown;
}

export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Safe to show the peer. */
  readonly detail: string | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, detail?: string, options?: { cause?: unknown; retryAfterSeconds?: number }) {
    super(detail === undefined ? ERROR_CODES[code].title : `${ERROR_CODES[code].title}: ${detail}`, options);
    this.name = 'GatewayError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.detail = detail;
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }

  toProblem(instance?: string): ProblemDocument {
    const problem: ProblemDocument = {
      type: `${ERROR_TYPE_BASE}${this.code.toLowerCase().replaceAll('_', '-')}`,
      title: ERROR_CODES[this.code].title,
      status: this.status,
      code: this.code,
    };
    if (this.detail !== undefined) problem.detail = this.detail;
    if (instance !== undefined) problem.instance = instance;
    return problem;
  }
}
