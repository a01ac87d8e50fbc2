export { PermanentJobError } from './permanent-job-error.ts';
export {
  jobIdFor,
  type Queue,
  type QueueJob,
  type QueueSettings,
  type StartQueueOptions,
  startQueue,
  type WorkOptions,
} from './queue.ts';
export {
  type RetentionJob,
  type RetentionJobOptions,
  retentionSettingsFromEnv,
  startRetentionJob,
} from './retention-job.ts';
