import type { Scenario } from '../chaos-context.ts';
import { agentOutage } from './agent-outage.ts';
import { postgresOutage } from './postgres-outage.ts';
import { providerOutage } from './provider-outage.ts';
import { redisOutage } from './redis-outage.ts';
import { soak } from './soak.ts';
import { twilioOutage } from './twilio-outage.ts';
import { twoInstances } from './two-instances.ts';
import { workerKill } from './worker-kill.ts';

/** In order of value: the first ones guard what is most often lost. */
export const SCENARIOS: Scenario[] = [
  postgresOutage,
  workerKill,
  redisOutage,
  providerOutage,
  twilioOutage,
  agentOutage,
  twoInstances,
  soak,
];
