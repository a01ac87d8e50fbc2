import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// A service started with live provider credentials (or NODE_ENV=production) must not run with the
// secrets printed in this repository: the process exits 1 with one config error naming each of them.

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** Runs a service entry until it exits or logs `listening`; then stops it. */
async function run(entry: string, env: Record<string, string>) {
  const dataDir = await mkdtemp(join(tmpdir(), 'easymo-live-'));
  dirs.push(dataDir);
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !/^(WHATSAPP_|TWILIO_|VOICE_|VIDEO_|CALLBACK_|SUPABASE_|NODE_ENV$|DATABASE_URL$)/.test(k),
    ),
  );
  const child = spawn(process.execPath, [entry], {
    env: { ...clean, LOG_LEVEL: 'info', DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let listening = false;
  const collect = (chunk: Buffer) => {
    output += chunk;
    if (!listening && /"msg":"listening"/.test(output)) {
      listening = true;
      child.kill('SIGTERM');
    }
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { code, output, listening };
}

const SERVICES: {
  name: string;
  entry: string;
  live: Record<string, string>;
  because: string;
  secrets: string[];
}[] = [
  {
    name: 'whatsapp-webhook',
    entry: 'services/whatsapp-webhook/main.ts',
    live: { WHATSAPP_ACCESS_TOKEN: 'EAAG-real-looking-token', WHATSAPP_PORT: '0' },
    because: 'WHATSAPP_ACCESS_TOKEN is set',
    secrets: ['WHATSAPP_APP_SECRET', 'WHATSAPP_VERIFY_TOKEN', 'WHATSAPP_API_KEY'],
  },
  {
    name: 'voice-bridge',
    entry: 'services/voice-bridge/main.ts',
    live: {
      TWILIO_ACCOUNT_SID: 'AC0123456789abcdef0123456789abcdef',
      TWILIO_AUTH_TOKEN: 'f'.repeat(32),
      VOICE_PORT: '0',
    },
    because: 'Twilio credentials are set',
    secrets: ['VOICE_API_KEY'],
  },
  {
    name: 'video-orchestrator',
    entry: 'services/video-orchestrator/main.ts',
    live: { NODE_ENV: 'production', VIDEO_PORT: '0' },
    because: 'NODE_ENV=production',
    secrets: ['VIDEO_API_KEY', 'CALLBACK_SIGNING_SECRET'],
  },
];

describe.each(SERVICES)('$name with live credentials', ({ entry, live, because, secrets }) => {
  it('refuses to start on the public dev secrets, naming each one', async () => {
    const result = await run(entry, live);
    expect(result.code, result.output).toBe(1);
    expect(result.listening).toBe(false);
    expect(result.output).toContain('invalid configuration');
    for (const variable of secrets) {
      expect(result.output).toMatch(
        new RegExp(`- ${variable}: is the public development default; set a real secret \\(${because}\\)`),
      );
    }
  }, 60_000);

  it('refuses a secret shorter than 32 characters', async () => {
    const result = await run(entry, { ...live, [secrets[0]]: 'short-but-not-default' });
    expect(result.code, result.output).toBe(1);
    expect(result.output).toContain(`- ${secrets[0]}: is shorter than 32 characters`);
    expect(result.output).not.toContain('short-but-not-default'); // the value itself is never printed
  }, 60_000);
});

describe('live credentials with real secrets', () => {
  it('video-orchestrator starts under NODE_ENV=production with long secrets', async () => {
    const result = await run('services/video-orchestrator/main.ts', {
      NODE_ENV: 'production',
      VIDEO_PORT: '0',
      VIDEO_API_KEY: 'a-real-video-api-key-0123456789abcdef',
      CALLBACK_SIGNING_SECRET: 'whsec_cmVhbC12aWRlby1jYWxsYmFjay1zaWduaW5nLWtleQ==',
    });
    expect(result.listening, result.output).toBe(true);
    expect(result.code).toBe(0);
  }, 120_000);
});
