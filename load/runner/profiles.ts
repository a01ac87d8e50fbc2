import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { SERVICE_NAMES } from '../../services/manifest.js';
import { parseDuration } from '../common/duration.js';
import type { ClosedProfile, OpenProfile } from '../common/options.js';
import { flows } from '../scenarios/flows.js';
import { parseThreshold } from './thresholds.ts';

export const PROFILES_DIR = fileURLToPath(new URL('../profiles/', import.meta.url));

const duration = z.string().refine(
  (text) => {
    try {
      parseDuration(text);
      return true;
    } catch {
      return false;
    }
  },
  { error: 'must be a k6 duration such as 30s, 2m or 1m30s' },
);
const flowName = z
  .string()
  .refine((name) => name in flows, { error: 'must name a flow in load/scenarios/flows.js' });
const expression = z.string().refine(
  (text) => {
    try {
      parseThreshold(text);
      return true;
    } catch {
      return false;
    }
  },
  { error: 'must be a k6 threshold expression such as p(95)<500 or rate<0.1' },
);
const threshold = z.union([
  expression,
  z.strictObject({
    threshold: expression,
    abortOnFail: z.boolean().optional(),
    delayAbortEval: duration.optional(),
  }),
]);
const mix = z
  .array(
    z.strictObject({
      flow: flowName,
      weight: z.number().positive(),
      params: z.record(z.string(), z.unknown()).optional(),
    }),
  )
  .min(1);
const service = z.enum(SERVICE_NAMES);

export const ClosedProfileSchema = z.strictObject({
  name: z.string().min(1),
  description: z.string().optional(),
  model: z.literal('closed'),
  stages: z.array(z.strictObject({ duration, target: z.number().int().min(0) })).min(1),
  gracefulRampDown: duration.optional(),
  gracefulStop: duration.optional(),
  iterationSleepSeconds: z.number().min(0).optional(),
  requestTimeout: duration.optional(),
  thresholds: z.record(z.string(), z.array(threshold).min(1)),
  services: z.partialRecord(
    service,
    z.strictObject({ vuScale: z.number().positive().optional(), steps: z.array(flowName).optional(), mix }),
  ),
  extraScenarios: z
    .record(
      z.string().regex(/^[0-9a-zA-Z_-]+$/, { error: 'k6 scenario names are letters, digits, _ and -' }),
      z.strictObject({
        executor: z.literal('shared-iterations'),
        service,
        flow: flowName,
        vus: z.number().int().positive().optional(),
        iterations: z.number().int().positive().optional(),
        startTime: duration.optional(),
        maxDuration: duration.optional(),
        params: z.record(z.string(), z.unknown()).optional(),
      }),
    )
    .optional(),
});

export const OpenProfileSchema = z
  .strictObject({
    name: z.string().min(1),
    description: z.string().optional(),
    model: z.literal('open'),
    rates: z.array(z.number().positive()).min(1).optional(),
    climb: z
      .strictObject({
        startRate: z.number().positive(),
        factor: z.number().gt(1),
        maxRate: z.number().positive(),
      })
      .refine((c) => c.maxRate >= c.startRate, { error: 'maxRate must be at least startRate' })
      .optional(),
    stepDuration: duration,
    preAllocatedVUs: z.number().int().positive().optional(),
    maxVUs: z.number().int().positive().optional(),
    requestTimeout: duration.optional(),
    breakpoint: z.strictObject({
      http_req_duration: expression,
      http_req_failed: expression,
      maxDroppedRatio: z.number().min(0).max(1).optional(),
    }),
    services: z.partialRecord(service, z.strictObject({ mix })),
  })
  .refine((p) => (p.rates === undefined) !== (p.climb === undefined), {
    error: 'give either rates or climb',
    path: ['rates'],
  });

async function readProfileJson(nameOrPath: string): Promise<unknown> {
  const path = nameOrPath.endsWith('.json') ? nameOrPath : `${PROFILES_DIR}${nameOrPath}.json`;
  return JSON.parse(await readFile(path, 'utf8'));
}

function describeIssues(name: string, error: z.ZodError): Error {
  const lines = error.issues.map((issue) => `  ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  return new Error(`profile ${name} is invalid:\n${lines.join('\n')}`);
}

/** Reads load/profiles/<name>.json (or a path) and checks it is a closed-model profile. */
export async function loadClosedProfile(nameOrPath: string): Promise<ClosedProfile> {
  const parsed = ClosedProfileSchema.safeParse(await readProfileJson(nameOrPath));
  if (!parsed.success) throw describeIssues(nameOrPath, parsed.error);
  return parsed.data as ClosedProfile;
}

/** Reads load/profiles/<name>.json (or a path) and checks it is an open-model profile. */
export async function loadOpenProfile(nameOrPath: string): Promise<OpenProfile> {
  const parsed = OpenProfileSchema.safeParse(await readProfileJson(nameOrPath));
  if (!parsed.success) throw describeIssues(nameOrPath, parsed.error);
  return parsed.data as OpenProfile;
}

/** The EasyMO seed's results, the baseline every run is compared with. */
export async function loadSeedResults(): Promise<unknown> {
  return JSON.parse(await readFile(`${PROFILES_DIR}easymo-seed-results.json`, 'utf8'));
}
