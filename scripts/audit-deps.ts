/**
 * `npm run audit:deps` (and CI): `npm audit --omit=dev`, failing on any advisory of severity high or
 * critical in a production dependency unless scripts/audit-exceptions.json lists it with a reason.
 *
 * A registry that does not serve the audit endpoint (a mirror answering 405, no network) is reported
 * as exactly that, loudly, and does not fail the run: it says nothing about the dependencies. Set
 * AUDIT_REQUIRED=1 to fail then too.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

export interface AuditException {
  /** The advisory's GHSA id (or its npm advisory URL). */
  id: string;
  package: string;
  reason: string;
}

interface Advisory {
  source?: number;
  name?: string;
  title?: string;
  url?: string;
  severity?: string;
}

interface AuditReport {
  vulnerabilities?: Record<string, { name: string; severity: string; via: (Advisory | string)[] }>;
  error?: unknown;
  statusCode?: number;
  message?: string;
}

export type AuditVerdict =
  | { kind: 'unavailable'; reason: string }
  | { kind: 'clean'; excepted: string[] }
  | { kind: 'vulnerable'; findings: string[] };

const BLOCKING = new Set(['high', 'critical']);

function advisoryId(advisory: Advisory): string {
  return /GHSA-[\w-]+/.exec(advisory.url ?? '')?.[0] ?? advisory.url ?? String(advisory.source ?? '?');
}

/** What an `npm audit --json` report means for CI, given the accepted exceptions. */
export function judgeAudit(report: AuditReport, exceptions: AuditException[]): AuditVerdict {
  if (!report.vulnerabilities) {
    const why = report.message ?? (report.statusCode ? `HTTP ${report.statusCode}` : 'no report');
    return { kind: 'unavailable', reason: why };
  }
  const accepted = new Set(exceptions.map((e) => e.id));
  const findings: string[] = [];
  const excepted: string[] = [];
  for (const vulnerability of Object.values(report.vulnerabilities)) {
    for (const via of vulnerability.via) {
      // A string names another vulnerable package, whose own advisories are listed under it.
      if (typeof via === 'string' || !BLOCKING.has(via.severity ?? vulnerability.severity)) continue;
      const id = advisoryId(via);
      const line = `${vulnerability.name}: ${via.severity} ${id} ${via.title ?? ''}`.trim();
      (accepted.has(id) ? excepted : findings).push(line);
    }
  }
  return findings.length > 0 ? { kind: 'vulnerable', findings } : { kind: 'clean', excepted };
}

function runAudit(): Promise<AuditReport> {
  return new Promise((resolve) => {
    execFile(
      'npm',
      ['audit', '--omit=dev', '--json'],
      { maxBuffer: 64 * 1024 * 1024, timeout: 120_000 },
      (error, stdout, stderr) => {
        try {
          resolve(JSON.parse(stdout) as AuditReport);
        } catch {
          resolve({ message: (error?.message ?? String(stderr)).trim().split('\n').at(-1) });
        }
      },
    );
  });
}

async function main(): Promise<void> {
  const file = new URL('./audit-exceptions.json', import.meta.url);
  const { exceptions } = JSON.parse(await readFile(file, 'utf8')) as { exceptions: AuditException[] };
  const verdict = judgeAudit(await runAudit(), exceptions);
  if (verdict.kind === 'unavailable') {
    process.stdout.write(
      `!! npm audit did NOT run: the registry did not answer the audit endpoint (${verdict.reason}).\n` +
        '!! Production dependencies are unaudited in this run; run `npm run audit:deps` where the registry serves audits.\n',
    );
    process.exit(process.env.AUDIT_REQUIRED === '1' ? 1 : 0);
  }
  if (verdict.kind === 'vulnerable') {
    process.stdout.write(
      `npm audit: advisories of severity high or above in production dependencies:\n  ${verdict.findings.join('\n  ')}\n` +
        'Update the dependency, or accept the advisory in scripts/audit-exceptions.json with a reason (and README).\n',
    );
    process.exit(1);
  }
  const note = verdict.excepted.length > 0 ? ` (accepted: ${verdict.excepted.join('; ')})` : '';
  process.stdout.write(
    `npm audit: no advisory of severity high or above in production dependencies${note}\n`,
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
