import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { compileClosedProfile } from '../../../load/common/options.js';
import { loadClosedProfile } from '../../../load/runner/profiles.ts';

const run = promisify(execFile);
const ROOT = new URL('../../../', import.meta.url).pathname;

const ENV = {
  PROFILE: 'ci',
  BASE_VOICE_URL: 'http://127.0.0.1:3001',
  BASE_WHATSAPP_URL: 'http://127.0.0.1:8080',
  BASE_VIDEO_URL: 'http://127.0.0.1:3002',
  TWILIO_AUTH_TOKEN: 'k6-twilio-token',
  WHATSAPP_APP_SECRET: 'k6-app-secret',
  RESULTS_DIR: 'out',
};

async function harness(script: string, env: Record<string, string>) {
  const { stdout } = await run(
    process.execPath,
    ['test/integration/load/k6-harness.ts', script, JSON.stringify(env)],
    {
      cwd: ROOT,
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  return JSON.parse(stdout);
}

/** Files a k6 script loads: itself and every relative import, transitively. */
async function k6ModuleGraph(entry: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const visit = async (path: string) => {
    if (files.has(path)) return;
    const text = await readFile(path, 'utf8');
    files.set(path, text);
    for (const match of text.matchAll(/^\s*import\s[^'"]*['"]([^'"]+)['"]/gm)) {
      if (match[1].startsWith('.')) await visit(join(path, '..', match[1]));
    }
  };
  await visit(join(ROOT, entry));
  return files;
}

describe('k6 scripts (run under Node with recording k6 fakes; no k6 binary here)', () => {
  it('stay valid k6: only k6 modules and relative .js files, no Node APIs', async () => {
    for (const entry of ['load/k6/easymo.js', 'load/k6/open-model.js']) {
      const graph = await k6ModuleGraph(entry);
      expect(graph.size).toBeGreaterThan(4);
      for (const [path, text] of graph) {
        expect(path.endsWith('.js'), path).toBe(true);
        for (const match of text.matchAll(/^\s*import\s[^'"]*['"]([^'"]+)['"]/gm)) {
          expect(match[1], `${path} imports ${match[1]}`).toMatch(
            /^(k6(\/(http|crypto|encoding|metrics|execution))?|\.\.?\/.+\.js)$/,
          );
        }
        const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|\s)\/\/.*$/gm, '');
        expect(code, path).not.toMatch(/\bprocess\.(env|argv|exit)|\brequire\(|\bBuffer\.|from 'node:/);
      }
    }
  });

  it('easymo.js: exports the compiled CI profile and drives every scenario with signed requests', async () => {
    const report = await harness('easymo', ENV);
    const expected = compileClosedProfile(await loadClosedProfile('ci'));
    expect(report.options).toEqual(JSON.parse(JSON.stringify(expected.options)));
    expect(report.exports).toEqual(['closedModel', 'extraScenario', 'handleSummary', 'options', 'setup']);
    expect(report.setupData).toEqual({ assetId: 'asset-1', renderId: 'render-1' });

    const requests = report.requests as {
      url: string;
      status: number;
      tags: Record<string, string>;
      signatureOk: boolean | null;
    }[];
    expect(requests.filter((r) => r.signatureOk === false)).toEqual([]);
    expect(requests.filter((r) => r.signatureOk === true).length).toBeGreaterThan(20);
    const scenarioRequests = requests.filter((r) => r.tags.stage !== 'setup');
    for (const r of scenarioRequests) {
      expect(r.tags).toMatchObject({
        service: expect.any(String),
        flow: expect.any(String),
        name: expect.any(String),
      });
      // Closed-model scenarios start at 0 s; some extras later (rate-limit at 15 s, outbound calls at
      // 30 s: both in stage 1).
      expect(r.tags.stage).toBe(['outboundRateLimitProbe', 'outboundCall'].includes(r.tags.flow) ? '1' : '0');
      expect(
        r.url.startsWith(
          ENV[
            (
              {
                'voice-bridge': 'BASE_VOICE_URL',
                'whatsapp-webhook': 'BASE_WHATSAPP_URL',
                'video-orchestrator': 'BASE_VIDEO_URL',
              } as const
            )[r.tags.service as 'voice-bridge']
          ],
        ),
      ).toBe(true);
    }
    // Each closed-model iteration: health, one flow from the mix, then sleep(1).
    expect(report.sleeps).toBeGreaterThanOrEqual(90);
    const checks = report.checks as Record<string, { passes: number; fails: number }>;
    expect(Object.entries(checks).filter(([, c]) => c.fails > 0)).toEqual([]);
    expect(checks['health is 200 ok'].passes).toBeGreaterThanOrEqual(90);
    expect(checks['limiter rejects with 429 past the policy']).toEqual({ passes: 1, fails: 0 });
    expect(checks['render completes']).toEqual({ passes: 1, fails: 0 });

    // handleSummary writes the same summary.json shape as the Node runner, the report and a table.
    expect(report.summaryFiles).toEqual(['out/report.html', 'out/summary.json', 'stdout']);
    expect(report.reportHtmlBytes).toBeGreaterThan(200_000);
    expect(report.summary.tool).toBe('k6');
    expect(report.summary.easymo).toMatchObject({ profile: 'ci', tool: 'k6', passed: true });
    expect(report.summary.easymo.stages).toHaveLength(7);
    expect(report.stdout).toContain('EasyMO seed');
  }, 60_000);

  it('open-model.js: one service’s arrival-rate staircase, tagged by step, ends with the ceiling', async () => {
    const report = await harness('open-model', {
      ...ENV,
      PROFILE: 'open-model-ci',
      SERVICE: 'whatsapp-webhook',
    });
    expect(Object.keys(report.options.scenarios)).toEqual(['whatsapp-webhook']);
    expect(report.options.scenarios['whatsapp-webhook'].executor).toBe('ramping-arrival-rate');
    const requests = report.requests as { tags: Record<string, string>; signatureOk: boolean | null }[];
    expect(requests.filter((r) => r.signatureOk === false)).toEqual([]);
    expect(requests.every((r) => r.tags.step === '0' || r.tags.step === 'setup')).toBe(true);
    expect(report.summaryFiles).toEqual(['out/open-model-whatsapp-webhook.json', 'stdout']);
    expect(report.stdout).toContain('max sustainable');
    expect(report.stdout).toMatch(/ceiling (between|below|not reached)/);
  }, 60_000);

  it('names every file it writes under RESULTS_DIR', async () => {
    const files = await readdir(join(ROOT, 'load/k6'));
    expect(files.sort()).toEqual(['driver.js', 'easymo.js', 'open-model.js']);
  });
});
