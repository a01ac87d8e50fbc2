import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const SERVICES = [
  { name: 'whatsapp-webhook', entry: 'services/whatsapp-webhook/main.ts', portVar: 'WHATSAPP_PORT' },
  { name: 'voice-bridge', entry: 'services/voice-bridge/main.ts', portVar: 'VOICE_PORT' },
  { name: 'video-orchestrator', entry: 'services/video-orchestrator/main.ts', portVar: 'VIDEO_PORT' },
];

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

function start(entry: string, env: Record<string, string>) {
  const child = spawn(process.execPath, [entry], {
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr!.on('data', (chunk) => {
    output += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const listening = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no 'listening' line within 90 s:\n${output}`)), 90_000);
    const onData = () => {
      const match = output.match(/"port":(\d+),"msg":"listening"/);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout!.on('data', onData);
    exited.then(() => reject(new Error(`exited before listening:\n${output}`)));
  });
  return { child, exited, listening, output: () => output };
}

async function stop(child: ChildProcess, exited: Promise<number | null>) {
  child.kill('SIGTERM');
  return exited;
}

describe.each(SERVICES)('$name as a process (Node entry)', ({ entry, portVar }) => {
  it('starts on defaults, answers /health, /ready and /metrics, and exits 0 on SIGTERM', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'easymo-proc-'));
    dirs.push(dataDir);
    // Port 0: the OS picks a free one; the service logs which.
    const proc = start(entry, { [portVar]: '0', DATA_DIR: dataDir });
    try {
      const port = await proc.listening;
      const base = `http://127.0.0.1:${port}`;
      const health = await fetch(`${base}/health`);
      expect(health.status).toBe(200);
      expect((await health.json()).status).toBe('ok');
      expect((await fetch(`${base}/ready`)).status).toBe(200);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toContain('http_request_duration_seconds');
      expect(metrics).toContain('circuit_breaker_state');
    } finally {
      const code = await stop(proc.child, proc.exited);
      expect(code, proc.output()).toBe(0);
    }
  }, 120_000);

  it('refuses to start with a bad variable, naming it', async () => {
    const proc = start(entry, { [portVar]: 'not-a-port', LOG_LEVEL: 'loud', DATA_DIR: tmpdir() });
    proc.listening.catch(() => {});
    const code = await proc.exited;
    expect(code).toBe(1);
    expect(proc.output()).toContain(portVar);
    expect(proc.output()).toContain('LOG_LEVEL');
  }, 60_000);
});
