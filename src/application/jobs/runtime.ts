import type { Deps } from '../kernel/deps.js';
import type { JobRunner } from './job-runner.js';

/** What every capability is built from: the ports, the one job runner, and how long a request waits. */
export interface Runtime {
  readonly deps: Deps;
  readonly runner: JobRunner;
  /** How long a request waits for the job it started before answering with where things stand. */
  readonly waitForCompletionMs: number;
}
