/**
 * `npm run check:lock` (or `node scripts/check-lock.ts [lock]`): package-lock.json installs with `npm ci` on every platform, not just this one.
 *
 * A lock written on a machine (or registry mirror) that lacked other platforms' optional packages lists
 * `@biomejs/biome`'s `optionalDependencies` (cli-darwin-arm64, …) without entries of their own; `npm ci`
 * on a Mac or another Linux then refuses the lock as out of sync. `npm install --package-lock-only` on
 * a full registry records them. This finds every optional dependency that the lock names but does not
 * hold, and every entry without an integrity hash (a lock that `npm ci` cannot verify).
 *
 * Exits 1 naming each problem.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

interface LockEntry {
  version?: string;
  integrity?: string;
  link?: boolean;
  optionalDependencies?: Record<string, string>;
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const lockPath = process.argv[2] ?? `${ROOT}package-lock.json`;
const lock = JSON.parse(await readFile(lockPath, 'utf8')) as {
  lockfileVersion: number;
  packages?: Record<string, LockEntry>;
};

/** Where Node would find `name` from the package installed at `from`: its own node_modules, then up. */
function resolve(packages: Record<string, LockEntry>, from: string, name: string): string | undefined {
  let base = from;
  for (;;) {
    const candidate = `${base ? `${base}/` : ''}node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (base === '') return undefined;
    const parent = base.lastIndexOf('/node_modules/');
    base = parent === -1 ? '' : base.slice(0, parent);
  }
}

const problems: string[] = [];
const packages = lock.packages;
if (lock.lockfileVersion < 2 || !packages) {
  problems.push(`lockfileVersion ${lock.lockfileVersion} has no "packages" map: regenerate with npm ≥ 7`);
} else {
  for (const [path, entry] of Object.entries(packages)) {
    if (path === '' || entry.link) continue;
    if (!entry.integrity) problems.push(`${path}@${entry.version}: no integrity hash`);
    for (const name of Object.keys(entry.optionalDependencies ?? {})) {
      if (!resolve(packages, path, name)) {
        problems.push(`${path || 'the project'} lists optional ${name}, which the lock does not hold`);
      }
    }
  }
}

if (problems.length > 0) {
  process.stderr.write(
    `package-lock.json is incomplete (npm ci fails on other platforms):\n  ${problems.join('\n  ')}\n` +
      'Fix: npm install --package-lock-only (against the full npm registry), then commit the lock.\n',
  );
  process.exit(1);
}
process.stdout.write(`package-lock.json: ${Object.keys(packages ?? {}).length - 1} packages, complete\n`);
