// Scheduled workflows: DBOS's schedule API, and the scheduler each launched process runs.
export {
  applySchedules, backfillSchedule, createSchedule, deleteSchedule, getSchedule, listSchedules, pauseSchedule,
  resumeSchedule, triggerSchedule, type ScheduleDefinition, type ScheduleOptions, type WorkflowSchedule,
} from './api.js';
export { startScheduler, stopScheduler } from './scheduler.js';
export { slotWorkflowID } from './cron.js';
