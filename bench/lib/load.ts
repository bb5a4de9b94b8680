/**
 * Main-thread side of the load client (load-worker.ts): starts the worker, runs timed phases against
 * a server in this process, and reports the rate, latencies and both threads' event-loop utilisation
 * (the server's is this thread's over the same phase). Any unexpected status or connection error
 * fails the phase: a figure measured on refused requests would be meaningless.
 */
import { Worker } from 'node:worker_threads';
import type { LoadSetup, RunReply, RunRequest } from './load-worker.ts';
import { type LatencySummary, summarizeLatencies } from './stats.ts';

export type { ConnectionSpec, LoadSetup } from './load-worker.ts';

export type PhaseOptions = Omit<RunRequest, 'type'>;

export interface PhaseResult {
  rate: number;
  count: number;
  latencies: Float64Array;
  latency: LatencySummary;
  /** Event-loop utilisation of the server (main) thread over the phase. */
  serverElu: number;
  /** Event-loop utilisation of the load-client thread over the phase. */
  clientElu: number;
}

export class LoadClient {
  readonly #worker: Worker;
  #busy = false;

  constructor(setup: LoadSetup) {
    this.#worker = new Worker(new URL('./load-worker.ts', import.meta.url), { workerData: setup });
    this.#worker.unref();
  }

  run(options: PhaseOptions): Promise<PhaseResult> {
    if (this.#busy) return Promise.reject(new Error('one phase at a time'));
    this.#busy = true;
    const elu0 = performance.eventLoopUtilization();
    return new Promise<PhaseResult>((resolve, reject) => {
      const onError = (error: Error): void => {
        this.#worker.off('message', onMessage);
        reject(error);
      };
      const onMessage = (reply: RunReply | { type: 'crash'; message: string }): void => {
        this.#worker.off('error', onError);
        const serverElu = performance.eventLoopUtilization(elu0).utilization;
        const where = `${options.origin}${options.path}`;
        if (reply.type === 'crash') {
          reject(new Error(`load worker: ${reply.message}`));
        } else if (Object.keys(reply.errors).length > 0) {
          reject(
            new Error(
              `${where}: unexpected outcomes ${JSON.stringify(reply.errors)}; first: ${reply.firstError}`,
            ),
          );
        } else if (reply.count === 0) {
          reject(new Error(`${where}: no request completed in the window`));
        } else {
          resolve({
            rate: reply.rate,
            count: reply.count,
            latencies: reply.latencies,
            latency: summarizeLatencies(reply.latencies),
            serverElu,
            clientElu: reply.elu,
          });
        }
      };
      this.#worker.once('message', onMessage);
      this.#worker.once('error', onError);
      this.#worker.postMessage({ type: 'run', ...options } satisfies RunRequest);
    }).finally(() => {
      this.#busy = false;
    });
  }

  /** Closes every connection and ends the worker. */
  async close(): Promise<void> {
    const exited = new Promise<void>((resolve) => this.#worker.once('exit', () => resolve()));
    this.#worker.postMessage({ type: 'close' });
    const timer = setTimeout(() => void this.#worker.terminate(), 5_000);
    await exited;
    clearTimeout(timer);
  }
}
