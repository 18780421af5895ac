// The engine's context lives per async call chain (AsyncLocalStorage), never in globals, so two
// workflows running at once in one process each see their own id, function id counter and step.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { OperationRow, RecordedOutcome } from './storage/types.js';

export interface StepStatus {
  /** the step's function id within its workflow */
  stepID: number;
  /** 1-based, as DBOS TypeScript (Python's step_status.current_attempt is 0-based); unset without retries, as DBOS */
  currentAttempt?: number;
  /** total attempts allowed; unset without retries, as DBOS */
  maxAttempts?: number;
}

export interface WorkflowContext {
  workflowID: string;
  /** the workflow's recovery_attempts for this execution: 1 on the first run, +1 per recovery */
  attempt: number;
  /** the executor that owns this execution; with `attempt`, the fence for every write */
  executorID: string;
  /** next function id to hand out (0, 1, 2 ...) */
  nextFunctionID: number;
  /** outcomes recorded by earlier executions, by function id; consumed as they replay */
  recorded: Map<number, RecordedOutcome>;
  /** set by cancelWorkflow in this process, checked before each step */
  cancelled: boolean;
  /** set when a write of this execution was refused: another execution owns the workflow, or it was cancelled */
  fenced?: boolean;
  /** set when the system database stayed away past the retries: this execution stops without an outcome, the workflow stays PENDING */
  databaseLost?: Error;
  /** step outcomes not written yet: written at the next point that needs them durable (lib/pending.ts) */
  pending?: OperationRow[];
  /** the write of what was pending, while it is in flight */
  flushing?: Promise<void>;
  /** when this execution's own start confirmed the fence (its row just inserted, or just claimed from a queue): the first step skips its read if that was a moment ago */
  fenceHeldAt?: number;
  /** set while a step's function runs: steps called inside it are plain calls */
  step?: StepStatus;
}

export const contextStore = new AsyncLocalStorage<WorkflowContext>();

export function currentContext(): WorkflowContext | undefined {
  return contextStore.getStore();
}

/** Where the attempt comes from when another engine runs the workflow (lib/engine-choice.ts, on DBOS). */
let otherEngineAttempt: () => number = () => 0;
export function setOtherEngineAttempt(fn: () => number): void {
  otherEngineAttempt = fn;
}

/** The workflow's execution attempt, or 0 outside a workflow (lib/faults.ts salts its streams with it). */
export function currentExecutionAttempt(): number {
  return contextStore.getStore()?.attempt ?? otherEngineAttempt();
}
