import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConsoleEnvSchema } from '../../../console/config.ts';
import { CONSOLE, NODE_FLAGS, SANDBOX, SERVICES, serviceNamed } from '../../../services/manifest.js';
import { VideoEnvSchema } from '../../../services/video-orchestrator/config.ts';
import { VoiceEnvSchema } from '../../../services/voice-bridge/config.ts';
import { WhatsAppEnvSchema } from '../../../services/whatsapp-webhook/config.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

describe('services/manifest.js', () => {
  it('names entries that exist, an edge function per service, and distinct ports and prefixes', () => {
    for (const process of [
      SANDBOX,
      CONSOLE,
      ...SERVICES,
      ...SERVICES.flatMap((s) => (s.worker ? [s.worker] : [])),
    ]) {
      expect(existsSync(`${ROOT}${process.entry}`), process.entry).toBe(true);
    }
    for (const service of SERVICES) {
      expect(existsSync(`${ROOT}supabase/functions/${service.name}/index.ts`), service.name).toBe(true);
    }
    const all = [SANDBOX, CONSOLE, ...SERVICES];
    expect(new Set(all.map((s) => s.port)).size).toBe(all.length);
    expect(new Set(all.map((s) => s.envPrefix)).size).toBe(all.length);
  });

  it("agrees with each service's own default port and `<prefix>_PORT` variable", () => {
    const schemas = {
      'voice-bridge': VoiceEnvSchema,
      'whatsapp-webhook': WhatsAppEnvSchema,
      'video-orchestrator': VideoEnvSchema,
    };
    for (const [name, schema] of Object.entries(schemas)) {
      const service = serviceNamed(name);
      const defaults = schema.parse({}) as Record<string, unknown>;
      expect(defaults.PORT, name).toBe(service.port);
      const variable = `${service.envPrefix}_PORT`;
      expect((schema.parse({ [variable]: '4321' }) as Record<string, unknown>)[variable], name).toBe(4321);
    }
    expect(ConsoleEnvSchema.parse({}).PORT).toBe(CONSOLE.port);
    expect(ConsoleEnvSchema.parse({ CONSOLE_PORT: '4321' }).CONSOLE_PORT).toBe(4321);
  });

  it('starts every process with the same Node flags from the npm scripts as from npm start', () => {
    const { scripts } = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as {
      scripts: Record<string, string>;
    };
    const processes = [
      SANDBOX,
      CONSOLE,
      ...SERVICES,
      ...SERVICES.flatMap((s) => (s.worker ? [s.worker] : [])),
    ];
    for (const process of processes) {
      const script = Object.values(scripts).find((command) => command.endsWith(` ${process.entry}`));
      expect(script, process.entry).toBe(`node ${[...NODE_FLAGS, process.entry].join(' ')}`);
    }
  });
});
