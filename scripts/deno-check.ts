/**
 * `npm run test:deno`: the edge functions under Deno, offline (npm packages come from node_modules).
 *
 * 1. deno.json maps exactly package.json's dependencies.
 * 2. Every service in services/manifest.js has a function, and every function is a service.
 *    supabase/config.toml configures every function (no JWT check, entrypoint and import map in the bundle).
 * 3. `deno check` on every supabase/functions/<name>/index.ts.
 * 4. `deno test supabase/functions/_tests`: the edge wiring with the kit alone.
 * 5. The deploy bundle: every module a function needs is inside it (nothing climbs out of supabase/functions),
 *    and the Supabase CLI's own import walk (used by `deploy --use-api`) reaches every one of them.
 * 6. Smoke: one function, booted from that bundle against Postgres (DATABASE_URL; else the local default if
 *    it answers, else skipped), answers GET /<name>/health with 200 and the documented body and /ready with
 *    200, serves its OpenAPI document and a real route (whatsapp-webhook: Meta's verification handshake),
 *    404 outside its base path,
 *    and stops on SIGTERM.
 *
 * Ends with `N passed, N failed`; exits 1 on any failure.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix, relative, sep } from 'node:path';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { SERVICE_NAMES } from '../services/manifest.js';
import {
  bundleEdge,
  DENO,
  DENO_CONFIG,
  FUNCTIONS_DIR,
  listFunctions,
  moduleFiles,
  ROOT,
} from './bundle-edge.ts';

const run = promisify(execFile);
const LOCAL_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';
/** The simplest function to boot; the smoke also walks its verification handshake. */
const SMOKE_FUNCTION = 'whatsapp-webhook';
const DENO_ENV = { ...process.env, NO_COLOR: '1' };
const SMOKE_VERIFY_TOKEN = 'deno-smoke-verify-token';

let passed = 0;
let failed = 0;

function report(ok: boolean, name: string, detail?: string): void {
  if (ok) passed += 1;
  else failed += 1;
  process.stdout.write(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? `\n${indent(detail)}` : ''}\n`);
}

function indent(text: string): string {
  return text
    .trim()
    .split('\n')
    .map((line) => `     ${line}`)
    .join('\n');
}

async function step(name: string, body: () => Promise<void>): Promise<void> {
  try {
    await body();
    report(true, name);
  } catch (error) {
    const e = error as Error & { stdout?: string; stderr?: string };
    report(false, name, [e.message, e.stderr, e.stdout].filter(Boolean).join('\n').slice(-4000));
  }
}

async function deno(args: string[], timeoutMs = 180_000): Promise<string> {
  const { stdout, stderr } = await run(DENO, args, {
    cwd: ROOT,
    env: DENO_ENV,
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
  });
  return `${stdout}${stderr}`;
}

async function checkDependencyMap(): Promise<void> {
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  const config = JSON.parse(await readFile(DENO_CONFIG, 'utf8')) as {
    imports?: Record<string, string>;
    nodeModulesDir?: string;
  };
  const imports = config.imports ?? {};
  const problems: string[] = [];
  if (config.nodeModulesDir !== 'manual')
    problems.push('nodeModulesDir must be "manual" (resolve from node_modules)');
  const expected = new Map<string, string>();
  for (const [name, range] of Object.entries(pkg.dependencies)) {
    expected.set(name, `npm:${name}@${range}`);
    // The `npm:/` form is what lets an import map append subpaths (hono/deno, hono/utils/url).
    expected.set(`${name}/`, `npm:/${name}@${range}/`);
  }
  for (const [specifier, target] of expected) {
    if (imports[specifier] !== target)
      problems.push(`"${specifier}" should map to "${target}", not "${imports[specifier]}"`);
  }
  for (const specifier of Object.keys(imports)) {
    if (!expected.has(specifier)) problems.push(`"${specifier}" is not a package.json dependency`);
  }
  if (problems.length > 0) throw new Error(`deno.json disagrees with package.json:\n${problems.join('\n')}`);
}

/** The `[functions.<name>]` tables of config.toml, as key → raw value. Enough TOML for this file. */
function functionTables(toml: string): Map<string, Map<string, string>> {
  const tables = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const line of toml.split('\n')) {
    const header = /^\s*\[([^\]]+)\]\s*$/.exec(line);
    if (header) {
      const name = /^functions\.([\w-]+)$/.exec(header[1])?.[1];
      current = name ? new Map() : undefined;
      if (name && current) tables.set(name, current);
      continue;
    }
    const pair = /^\s*([\w-]+)\s*=\s*(.+?)\s*$/.exec(line);
    if (pair && current) current.set(pair[1], pair[2].replace(/^"(.*)"$/, '$1'));
  }
  return tables;
}

async function checkSupabaseConfig(functions: string[]): Promise<void> {
  const tables = functionTables(await readFile(join(ROOT, 'supabase', 'config.toml'), 'utf8'));
  const problems: string[] = [];
  for (const name of functions) {
    const table = tables.get(name);
    if (!table) {
      problems.push(`[functions.${name}] is missing`);
      continue;
    }
    const bundled = `./functions/_shared/bundle/supabase/functions/${name}`;
    const want = {
      verify_jwt: 'false',
      entrypoint: `${bundled}/index.ts`,
      import_map: `${bundled}/deno.json`,
    };
    for (const [key, value] of Object.entries(want)) {
      if (table.get(key) !== value)
        problems.push(`[functions.${name}] ${key} should be ${value}, is ${table.get(key)}`);
    }
  }
  if (problems.length > 0) throw new Error(problems.join('\n'));
}

/** Runs the Deno tests; each Deno test counts as one of ours. */
async function denoTests(): Promise<void> {
  let output: string;
  let crashed: Error | undefined;
  try {
    output = await deno([
      'test',
      '--no-remote',
      '--allow-net',
      '--allow-env',
      '--allow-read',
      '--allow-sys',
      join('supabase', 'functions', '_tests'),
    ]);
  } catch (error) {
    crashed = error as Error;
    const e = error as { stdout?: string; stderr?: string };
    output = `${e.stdout ?? ''}${e.stderr ?? ''}`;
  }
  const summary = /(\d+) passed \| (\d+) failed/.exec(output);
  if (!summary) {
    report(false, 'deno test supabase/functions/_tests', `${crashed?.message ?? ''}\n${output.slice(-4000)}`);
    return;
  }
  for (const line of output.split('\n')) {
    const result = /^(.+?) \.\.\. (ok|FAILED)/.exec(line);
    if (result) report(result[2] === 'ok', `deno test: ${result[1]}`);
  }
  if (crashed && Number(summary[2]) === 0)
    report(false, 'deno test supabase/functions/_tests', crashed.message);
}

/**
 * The files `supabase functions deploy --use-api` uploads: supabase/cli (internal/functions/deploy/upload.go)
 * follows relative imports from the entrypoint with this regular expression rather than a parser, so an
 * import it cannot read (e.g. a multi-line `import type {`) would be left out of the deploy.
 */
const CLI_IMPORT_PATTERN =
  /(?:import|export)\s+(?:\{[^{}]+\}|.*?)\s*(?:from)?\s*['"](.*?)['"]|import\(\s*['"](.*?)['"]\)/gi;

async function uploadWalk(root: string, entries: string[]): Promise<Set<string>> {
  const seen = new Set<string>();
  const queue = [...entries];
  while (queue.length > 0) {
    const current = queue.pop()!;
    if (seen.has(current)) continue;
    seen.add(current);
    const source = await readFile(join(root, current), 'utf8').catch(() => '');
    for (const match of source.matchAll(CLI_IMPORT_PATTERN)) {
      const specifier = (match[1] || match[2] || '').trim();
      if (!specifier.startsWith('./') && !specifier.startsWith('../')) continue;
      const path = posix.normalize(posix.join(posix.dirname(current), specifier));
      if (posix.extname(path)) queue.push(path);
    }
  }
  return seen;
}

async function databaseAnswers(url: string): Promise<string | undefined> {
  const sql = postgres(url, { max: 1, connect_timeout: 3, onnotice: () => {} });
  try {
    await sql`select 1`;
    return undefined;
  } catch (error) {
    return (error as Error).message;
  } finally {
    await sql.end({ timeout: 1 }).catch(() => {});
  }
}

interface BootedFunction {
  child: ChildProcess;
  port: number;
  output: () => string;
  exited: Promise<number | null>;
}

/** Starts `deno run` on an entry with the edge's environment and waits for its "listening" log line. */
async function bootFunction(entry: string, databaseUrl: string): Promise<BootedFunction> {
  // Only what an isolate would get: Supabase's SUPABASE_DB_URL (exercising the edge's fallback), no DATABASE_URL.
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? tmpdir(),
    NO_COLOR: '1',
    SUPABASE_DB_URL: databaseUrl,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    // A secret the smoke knows, as `supabase secrets set` would provide it.
    WHATSAPP_VERIFY_TOKEN: SMOKE_VERIFY_TOKEN,
  };
  if (process.env.DENO_DIR) env.DENO_DIR = process.env.DENO_DIR;
  const child = spawn(
    DENO,
    [
      'run',
      '--no-remote',
      '--config',
      DENO_CONFIG,
      '--allow-net',
      '--allow-env',
      '--allow-read',
      '--allow-sys',
      entry,
    ],
    { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('no "edge function listening" line within 30 s')),
      30_000,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /"port":(\d+),"msg":"edge function listening"/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before listening`));
    });
  }).catch((error: Error) => {
    child.kill('SIGKILL');
    throw Object.assign(error, { stdout: output });
  });
  return { child, port, output: () => output, exited };
}

async function smoke(bundleDir: string, functions: string[]): Promise<void> {
  const name = functions.includes(SMOKE_FUNCTION) ? SMOKE_FUNCTION : functions[0];
  let databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    const why = await databaseAnswers(LOCAL_DATABASE_URL);
    if (why) {
      process.stdout.write(
        `skip smoke: DATABASE_URL is unset and ${LOCAL_DATABASE_URL} does not answer (${why})\n`,
      );
      return;
    }
    databaseUrl = LOCAL_DATABASE_URL;
  }
  const entry = join(bundleDir, 'supabase', 'functions', name, 'index.ts');
  let booted: BootedFunction | undefined;
  await step(`smoke: ${name} boots from the deploy bundle against Postgres (Deno.serve)`, async () => {
    booted = await bootFunction(entry, databaseUrl);
  });
  if (!booted) return;
  const { port, child, exited } = booted;
  const base = `http://127.0.0.1:${port}`;
  try {
    await step(`smoke: GET /${name}/health → 200 {status: "ok", service: "${name}"}`, async () => {
      const res = await fetch(`${base}/${name}/health`, { signal: AbortSignal.timeout(10_000) });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`status ${res.status}: ${text}`);
      const body = JSON.parse(text) as Record<string, unknown>;
      const documented =
        body.status === 'ok' &&
        body.service === name &&
        typeof body.uptime === 'number' &&
        typeof body.timestamp === 'string' &&
        typeof body.breakers === 'object';
      if (!documented) throw new Error(`unexpected body: ${text}`);
    });
    await step(`smoke: GET /${name}/ready → 200 (the database answers through the edge pool)`, async () => {
      const res = await fetch(`${base}/${name}/ready`, { signal: AbortSignal.timeout(10_000) });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`status ${res.status}: ${text}`);
    });
    await step(`smoke: GET /${name}/openapi.json → 200, the service's OpenAPI 3.1 document`, async () => {
      const res = await fetch(`${base}/${name}/openapi.json`, { signal: AbortSignal.timeout(10_000) });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`status ${res.status}: ${text.slice(0, 500)}`);
      const document = JSON.parse(text) as { openapi?: string; info?: { title?: string } };
      if (document.openapi !== '3.1.0' || document.info?.title !== name) {
        throw new Error(`unexpected document: ${text.slice(0, 500)}`);
      }
    });
    if (name === 'whatsapp-webhook') {
      await step(
        'smoke: GET /whatsapp-webhook/webhook (Meta verification handshake) → 200 challenge',
        async () => {
          const query = `hub.mode=subscribe&hub.verify_token=${SMOKE_VERIFY_TOKEN}&hub.challenge=1158201444`;
          const res = await fetch(`${base}/whatsapp-webhook/webhook?${query}`, {
            signal: AbortSignal.timeout(10_000),
          });
          const text = await res.text();
          if (res.status !== 200 || text !== '1158201444') throw new Error(`status ${res.status}: ${text}`);
        },
      );
    }
    await step('smoke: GET /health (outside the base path) → 404 problem+json', async () => {
      const res = await fetch(`${base}/health`, { signal: AbortSignal.timeout(10_000) });
      await res.text();
      if (res.status !== 404) throw new Error(`status ${res.status}`);
      if (res.headers.get('content-type') !== 'application/problem+json') throw new Error('not problem+json');
    });
    await step(`smoke: ${name} stops on SIGTERM`, async () => {
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), 15_000);
      });
      const code = await Promise.race([exited, timeout]).finally(() => clearTimeout(timer));
      if (code === 'timeout') throw new Error('still running 15 s after SIGTERM');
      if (code !== 0) throw new Error(`exit code ${code}`);
      if (!booted?.output().includes('edge function shutting down')) throw new Error('no shutdown log line');
    });
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const functions = await listFunctions();
  process.stdout.write(`edge functions: ${functions.join(', ') || '(none)'}\n`);

  await step('deno.json maps the same dependencies as package.json, from node_modules', checkDependencyMap);
  await step('every service in services/manifest.js is an edge function, and only those', async () => {
    const missing = SERVICE_NAMES.filter((name) => !functions.includes(name));
    const extra = functions.filter((name) => !(SERVICE_NAMES as readonly string[]).includes(name));
    if (missing.length + extra.length > 0)
      throw new Error(
        `no function for: ${missing.join(', ') || '-'}; not a service: ${extra.join(', ') || '-'}`,
      );
  });
  await step('supabase/config.toml configures every function', () => checkSupabaseConfig(functions));
  for (const name of functions) {
    await step(`deno check supabase/functions/${name}/index.ts`, async () => {
      await deno(['check', '--no-remote', '--config', DENO_CONFIG, join(FUNCTIONS_DIR, name, 'index.ts')]);
    });
  }
  await denoTests();

  const tempDir = await mkdtemp(join(tmpdir(), 'easymo-edge-'));
  try {
    let bundleDir: string | undefined;
    await step('deploy bundle: every module the functions import lies inside it', async () => {
      const bundle = await bundleEdge(join(tempDir, 'bundle'));
      for (const name of functions) {
        const entry = join(bundle.outDir, 'supabase', 'functions', name, 'index.ts');
        const outside = (await moduleFiles(entry)).filter((path) => !path.startsWith(bundle.outDir + sep));
        if (outside.length > 0) {
          throw new Error(
            `${name} imports from outside the bundle: ${outside.map((p) => relative(ROOT, p)).join(', ')}`,
          );
        }
      }
      bundleDir = bundle.outDir;
    });
    if (bundleDir) {
      const outDir = bundleDir;
      await step(
        'deploy bundle: the Supabase CLI upload walk (`deploy --use-api`) finds every module',
        async () => {
          const entries = functions.map((name) => join('supabase', 'functions', name, 'index.ts'));
          const reached = await uploadWalk(outDir, entries);
          const bundled = (await readdir(outDir, { recursive: true }))
            .filter((file) => file.endsWith('.ts'))
            .map((file) => file.split(sep).join('/'));
          const unreached = bundled.filter((file) => !reached.has(file));
          if (unreached.length > 0) throw new Error(`not uploaded by the CLI: ${unreached.join(', ')}`);
        },
      );
    }
    if (bundleDir && functions.length > 0) await smoke(bundleDir, functions);
  } finally {
    await rm(tempDir, { recursive: true, force: true });
  }

  process.stdout.write(`\ndeno checks took ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  process.stdout.write(`${passed} passed, ${failed} failed\n`);
  process.exitCode = failed > 0 ? 1 : 0;
}

await main();
