// The public API, re-exported, nothing else.
export { DBOS, type EngineConfig, type WorkflowConfig, type RecoveryReport, type StepInfo } from './dbos.js';
export { WorkflowHandle, hooks } from './engine.js';
export { type StepStatus } from './context.js';
export { type StepConfig, STEP_DEFAULTS, backoffSeconds } from './retry.js';
export { databaseFromEnv, dataDir, PROJECT_ROOT, type DatabaseChoice } from './config.js';
export { Faults, crashNow, siteEnvName } from './faults.js';
export { fakeUsers, makeUser, userId, USER_NAMESPACE, type User } from './user.js';
export { UsersTable, type UsersKey } from './users-table.js';
export { redactUrl } from './redact.js';
export { log } from './log.js';
export * from './errors.js';
export type { WorkflowRow, WorkflowStatusValue, ListFilter, AppDatabase, OperationRow } from './storage/types.js';
export type { WorkflowStatus, GetWorkflowsInput } from './workflow-status.js';
