// DBOSClient: for a process that has no workflow code (an API server that only enqueues), as in
// DBOS Transact (dbos-transact-ts src/client.ts): create({ systemDatabaseUrl }), enqueue,
// retrieveWorkflow, destroy. systemDatabaseUrl is a postgres:// URL, or a SQLite file path; left out,
// the database comes from the environment as for a lesson (lib/config.ts).
import { setTimeout as sleep } from 'node:timers/promises';
import { checkAppName, databaseFromEnv, type DatabaseChoice } from '../config.js';
import { ConfigError, MaxRecoveryAttemptsExceededError, WorkflowCancelledError, WorkflowNotFoundError } from '../errors.js';
import { deserialize, deserializeError } from '../serialize.js';
import { openDatabase } from '../storage/open.js';
import type { SystemDatabase } from '../storage/types.js';
import { toWorkflowStatus, type WorkflowStatus } from '../workflow-status.js';
import { enqueueRow, type EnqueueOptions } from './enqueue.js';

export interface ClientEnqueueOptions extends EnqueueOptions {
  queueName: string;
  /** the name the workers registered the workflow under */
  workflowName: string;
  workflowID?: string;
  /** only a worker of this application version runs it (default: none, the first worker of any version takes it) */
  appVersion?: string;
}

export interface ClientConfig {
  /** postgres://user:password@host:5432/db, or a SQLite file path (default: from the environment) */
  systemDatabaseUrl?: string;
  /** the application whose workers run the workflows (default: none, any application's worker may take them) */
  applicationName?: string;
  /** where the state is, instead of systemDatabaseUrl (the lessons pass the one they use) */
  database?: DatabaseChoice;
}

function choiceOf(cfg: ClientConfig): DatabaseChoice {
  if (cfg.database) return cfg.database;
  const url = cfg.systemDatabaseUrl?.trim();
  if (url === undefined) return databaseFromEnv(cfg.applicationName ?? 'dbos_client');
  if (url === '') throw new ConfigError('DBOSClient.create: systemDatabaseUrl is empty: give a postgres:// URL or a SQLite file path.');
  if (/^postgres(ql)?:\/\//i.test(url)) return { kind: 'postgres', url };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) throw new ConfigError(`DBOSClient.create: systemDatabaseUrl ${url.split('@').pop()} is neither postgres:// nor a file path.`);
  return { kind: 'sqlite', file: url.replace(/^(sqlite|file):/i, '') };
}

export class DBOSClient {
  private constructor(
    private readonly db: SystemDatabase,
    private readonly release: () => Promise<void>,
    private readonly applicationName: string | null,
  ) {}

  static async create(cfg: ClientConfig = {}): Promise<DBOSClient> {
    if (cfg.applicationName !== undefined) checkAppName(cfg.applicationName);
    const opened = await openDatabase(choiceOf(cfg), cfg.applicationName ?? 'dbos_client', 'workbook-client');
    return new DBOSClient(opened.db, opened.release, cfg.applicationName ?? null);
  }

  /** Writes the workflow ENQUEUED on its queue and returns a handle at once; a worker runs it. */
  async enqueue<R = unknown>(o: ClientEnqueueOptions, ...args: unknown[]): Promise<ClientHandle<R>> {
    if (typeof o?.queueName !== 'string' || !o.queueName) throw new ConfigError('DBOSClient.enqueue needs { queueName, workflowName }: the queue a worker registered.');
    if (typeof o.workflowName !== 'string' || !o.workflowName) throw new ConfigError('DBOSClient.enqueue needs { queueName, workflowName }: the name a worker registered the workflow under.');
    const id = await enqueueRow(this.db, {
      queueName: o.queueName, workflowName: o.workflowName, workflowID: o.workflowID, deduplicationID: o.deduplicationID,
      priority: o.priority, applicationID: this.applicationName, applicationVersion: o.appVersion ?? null,
    }, args);
    return new ClientHandle<R>(this.db, id);
  }

  /** The workflow as DBOS shows it (its inputs, output, queue), or undefined when there is none with that id. */
  async getWorkflow(workflowID: string): Promise<WorkflowStatus | undefined> {
    const row = await this.db.getWorkflow(workflowID);
    return row && toWorkflowStatus(row);
  }

  retrieveWorkflow<R = unknown>(workflowID: string): ClientHandle<R> {
    return new ClientHandle<R>(this.db, workflowID);
  }

  /** The system database, for reports (wf, the lessons). */
  get systemDatabase(): SystemDatabase {
    return this.db;
  }

  async destroy(): Promise<void> {
    await this.db.close();
    await this.release();
  }
}

/** A workflow seen from a client: its row, and its result once a worker has finished it. */
export class ClientHandle<R> {
  constructor(private readonly db: SystemDatabase, readonly workflowID: string) {}

  /** As DBOS: the inputs, output and error as values, the queue's fields (queueName, priority, dequeuedAt). */
  async getStatus(): Promise<WorkflowStatus | undefined> {
    const row = await this.db.getWorkflow(this.workflowID);
    return row && toWorkflowStatus(row);
  }

  /** Waits (polling, with backoff to 500 ms) until a worker has finished the workflow. */
  async getResult(): Promise<R> {
    for (let wait = 10; ; wait = Math.min(wait * 2, 500)) {
      const row = await this.db.getWorkflow(this.workflowID);
      if (!row) throw new WorkflowNotFoundError(this.workflowID);
      if (row.status === 'SUCCESS') return deserialize<R>(row.output);
      if (row.status === 'ERROR') throw deserializeError(row.error ?? '{"name":"Error","message":"unknown error"}');
      if (row.status === 'CANCELLED') throw new WorkflowCancelledError(row.workflowID);
      if (row.status === 'MAX_RECOVERY_ATTEMPTS_EXCEEDED') throw new MaxRecoveryAttemptsExceededError(row.workflowID, row.recoveryAttempts - 2);
      await sleep(wait);
    }
  }
}
