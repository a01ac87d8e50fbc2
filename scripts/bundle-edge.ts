/**
 * Makes the edge functions deployable: Supabase's bundler only ships files under supabase/functions, and
 * the functions import the repo's shared/ and services/ by relative paths that climb out of it. This copies
 * every local module the functions import (found with `deno info`, so exactly the module graph: no tests,
 * no Node entry points) into supabase/functions/_shared/bundle/, keeping the repo's layout, so each
 * relative import resolves inside the bundle unchanged. It also writes each function's import map with
 * the npm versions installed in node_modules (the versions CI checked). supabase/config.toml points every
 * function's `entrypoint` and `import_map` into the bundle.
 *
 * Usage: node scripts/bundle-edge.ts [--out <dir>]   (then: supabase functions deploy)
 */
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const FUNCTIONS_DIR = join(ROOT, 'supabase', 'functions');
export const BUNDLE_DIR = join(FUNCTIONS_DIR, '_shared', 'bundle');
export const DENO = join(ROOT, 'node_modules', '.bin', 'deno');
export const DENO_CONFIG = join(ROOT, 'deno.json');

/** Function directories: named like a slug, not `_`-prefixed (shared code, tests), with an index.ts. */
export async function listFunctions(): Promise<string[]> {
  const names: string[] = [];
  for (const entry of await readdir(FUNCTIONS_DIR, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('_') || entry.name.startsWith('.')) continue;
    const isFile = await stat(join(FUNCTIONS_DIR, entry.name, 'index.ts')).then(
      (s) => s.isFile(),
      () => false,
    );
    if (isFile) names.push(entry.name);
  }
  return names.sort();
}

interface DenoInfo {
  modules: { specifier: string }[];
}

/** Absolute paths of the source files (not node_modules) in the module graph of `entry`. */
export async function moduleFiles(entry: string): Promise<string[]> {
  const { stdout } = await run(DENO, ['info', '--json', '--no-remote', '--config', DENO_CONFIG, entry], {
    cwd: ROOT,
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, NO_COLOR: '1' },
  });
  const info = JSON.parse(stdout) as DenoInfo;
  return info.modules
    .filter(({ specifier }) => specifier.startsWith('file:'))
    .map(({ specifier }) => fileURLToPath(specifier))
    .filter((path) => !path.split(sep).includes('node_modules'))
    .sort();
}

/**
 * `npm:hono@^4.13.19` → `npm:hono@4.13.19`: the installed version, read from node_modules. Prefix entries
 * keep their `npm:/` form (`"hono/": "npm:/hono@4.13.19/"`), which import maps need to append subpaths.
 */
async function pinToInstalled(target: string): Promise<string> {
  const match = /^npm:(\/?)((?:@[^/@]+\/)?[^/@]+)@[^/]+(\/.*)?$/.exec(target);
  if (!match) return target;
  const [, slash, name, subpath = ''] = match;
  const manifest = JSON.parse(await readFile(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as {
    version: string;
  };
  return `npm:${slash}${name}@${manifest.version}${subpath}`;
}

/** The root deno.json's `imports` with exact installed versions, for the deployed functions. */
export async function deployImportMap(): Promise<Record<string, string>> {
  const config = JSON.parse(await readFile(DENO_CONFIG, 'utf8')) as { imports?: Record<string, string> };
  const imports: Record<string, string> = {};
  for (const [specifier, target] of Object.entries(config.imports ?? {})) {
    imports[specifier] = await pinToInstalled(target);
  }
  return imports;
}

export interface EdgeBundle {
  outDir: string;
  functions: string[];
  files: string[];
  /** Per function, relative to the repo root: where config.toml's entrypoint and import_map point. */
  entrypoints: Record<string, { entrypoint: string; importMap: string }>;
}

/**
 * Writes the bundle under `outDir` (default supabase/functions/_shared/bundle), replacing what was there.
 *
 * @example
 * const bundle = await bundleEdge(); // then `supabase functions deploy`
 */
export async function bundleEdge(outDir = BUNDLE_DIR): Promise<EdgeBundle> {
  const functions = await listFunctions();
  if (functions.length === 0) throw new Error(`no functions under ${FUNCTIONS_DIR}`);
  const files = new Set<string>();
  for (const name of functions) {
    const entry = join(FUNCTIONS_DIR, name, 'index.ts');
    for (const path of await moduleFiles(entry)) {
      const file = relative(ROOT, path);
      if (file.startsWith('..')) throw new Error(`${entry} imports ${path}, outside the repository`);
      files.add(file);
    }
  }
  const target = resolve(outDir);
  // The directory is emptied first: never let that be the repository or one of its parents.
  if (!relative(target, ROOT).startsWith('..')) throw new Error(`refusing to empty ${target}`);
  await rm(target, { recursive: true, force: true });
  for (const file of files) {
    const destination = join(target, file);
    await mkdir(dirname(destination), { recursive: true });
    await writeFile(destination, await readFile(join(ROOT, file)));
  }
  // Generated, never committed: the directory ignores itself.
  await writeFile(join(target, '.gitignore'), '*\n');
  const importMap = `${JSON.stringify({ imports: await deployImportMap() }, null, 2)}\n`;
  const entrypoints: EdgeBundle['entrypoints'] = {};
  for (const name of functions) {
    const functionDir = join(target, 'supabase', 'functions', name);
    await writeFile(join(functionDir, 'deno.json'), importMap);
    entrypoints[name] = {
      entrypoint: relative(ROOT, join(functionDir, 'index.ts')),
      importMap: relative(ROOT, join(functionDir, 'deno.json')),
    };
  }
  return { outDir: target, functions, files: [...files].sort(), entrypoints };
}

async function main(): Promise<void> {
  const outIndex = process.argv.indexOf('--out');
  const outDir = outIndex > 0 ? resolve(process.argv[outIndex + 1] ?? '') : BUNDLE_DIR;
  const bundle = await bundleEdge(outDir);
  process.stdout.write(
    `bundled ${bundle.files.length} modules for ${bundle.functions.join(', ')} into ${relative(ROOT, bundle.outDir) || bundle.outDir}\n`,
  );
  for (const [name, paths] of Object.entries(bundle.entrypoints)) {
    process.stdout.write(`  ${name}: entrypoint ${paths.entrypoint}, import map ${paths.importMap}\n`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((error: unknown) => {
    process.stderr.write(`bundle-edge: ${(error as Error).message}\n`);
    process.exit(1);
  });
}
