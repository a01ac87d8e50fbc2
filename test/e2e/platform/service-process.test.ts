import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVICES as MANIFEST, portVariable } from '../../../services/manifest.js';

const SERVICES = MANIFEST.map((service) => ({ ...service, portVar: portVariable(service) }));

/** promtool on PATH (Debian's `prometheus` package), or null. */
const PROMTOOL =
  (process.env.PATH ?? '')
    .split(delimiter)
    .map((dir) => join(dir, 'promtool'))
    .find((path) => existsSync(path)) ?? null;

/** `promtool check metrics` reads the exposition on stdin and prints one line per problem. */
function promtoolCheck(promtool: string, text: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(promtool, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output: output.trim() }));
    child.stdin.end(text);
  });
}

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
  let proc: ReturnType<typeof start>;
  let base: string;
  beforeAll(async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'easymo-proc-'));
    dirs.push(dataDir);
    // Port 0: the OS picks a free one; the service logs which.
    proc = start(entry, { [portVar]: '0', DATA_DIR: dataDir });
    base = `http://127.0.0.1:${await proc.listening}`;
  }, 120_000);
  afterAll(async () => {
    if (proc.child.exitCode === null && proc.child.signalCode === null) await stop(proc.child, proc.exited);
  });

  it('starts on defaults and answers /health, /ready and /metrics', async () => {
    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);
    expect((await health.json()).status).toBe('ok');
    expect((await fetch(`${base}/ready`)).status).toBe(200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('http_request_duration_seconds');
    expect(metrics).toContain('circuit_breaker_state');
    expect(metrics).toContain('webhook_deliveries_total');
  });

  // CI installs promtool (Debian's `prometheus`); there its absence is a failure, not a skip.
  it.skipIf(!PROMTOOL && !process.env.CI)(
    'serves /metrics that `promtool check metrics` accepts',
    async () => {
      if (!PROMTOOL) throw new Error('promtool not found on PATH: apt-get install prometheus');
      const text = await (await fetch(`${base}/metrics`)).text();
      const result = await promtoolCheck(PROMTOOL, text);
      expect(result.output, 'promtool check metrics').toBe('');
      expect(result.code).toBe(0);
    },
  );

  it('exits 0 on SIGTERM', async () => {
    const code = await stop(proc.child, proc.exited);
    expect(code, proc.output()).toBe(0);
  }, 30_000);

  it('refuses to start with a bad variable, naming it', async () => {
    const proc = start(entry, { [portVar]: 'not-a-port', LOG_LEVEL: 'loud', DATA_DIR: tmpdir() });
    proc.listening.catch(() => {});
    const code = await proc.exited;
    expect(code).toBe(1);
    expect(proc.output()).toContain(portVar);
    expect(proc.output()).toContain('LOG_LEVEL');
  }, 60_000);
});
