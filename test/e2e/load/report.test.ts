import { existsSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { compileClosedProfile, compileOpenProfile, SERVICES } from '../../../load/common/options.js';
import { analyzeOpenModel, buildEasymoSummary } from '../../../load/common/summary.js';
import { writeReport } from '../../../load/report/write-report.ts';
import { MetricRegistry } from '../../../load/runner/metrics.ts';
import { loadClosedProfile, loadOpenProfile, loadSeedResults } from '../../../load/runner/profiles.ts';

/** The browser the report opens in: CHROME_PATH (e.g. GitHub runners' /usr/bin/google-chrome), else Debian's Chromium. */
const BROWSER = process.env.CHROME_PATH || '/usr/bin/chromium';
const HAS_BROWSER = existsSync(BROWSER);
const OUT = new URL('../../../load/results/report-test/', import.meta.url).pathname;

/** A plausible CI run, sample by sample, so the report is built the way a real one is. */
async function syntheticSummary() {
  const profile = await loadClosedProfile('ci');
  const compiled = compileClosedProfile(profile);
  const registry = new MetricRegistry(() => 0);
  let seed = 7;
  const random = () => {
    seed = (seed * 16807) % 2147483647;
    return seed / 2147483647;
  };
  for (const stage of compiled.plan) {
    for (const service of SERVICES) {
      const vus =
        Math.max(1, (stage.from + stage.target) / 2) * (service === 'video-orchestrator' ? 0.25 : 1);
      const requests = Math.round(vus * 1.9 * (stage.durationMs / 1000));
      for (let i = 0; i < requests; i++) {
        const tags = { service, stage: String(stage.index), flow: i % 2 ? 'health' : 'mixed' };
        registry.add('http_reqs', 1, tags);
        registry.add('http_req_duration', 4 + random() * 20 + vus * random() * 0.6, tags);
        registry.add('http_req_failed', random() < 0.004 ? 1 : 0, tags);
        registry.add('errors', random() < 0.006 ? 1 : 0, tags);
      }
    }
  }
  for (const flow of ['outboundRateLimitProbe', 'renderLifecycle']) registry.add('checks', 1, { flow });
  registry.add('render_processing_duration', 1800, { service: 'video-orchestrator' });
  registry.add('renders_completed', 3, { service: 'video-orchestrator' });
  const metrics = registry.toK6Metrics(compiled.options.thresholds, 120_000);

  const open = await loadOpenProfile('open-model-ci');
  const openModel: Record<string, ReturnType<typeof analyzeOpenModel>> = {};
  for (const [service, ceiling] of [
    // Rates of open-model-ci's climb (50 × 1.5^n): each service holds up to its ceiling, then breaks.
    ['voice-bridge', 380],
    ['whatsapp-webhook', 253],
    ['video-orchestrator', 570],
  ] as const) {
    const oc = compileOpenProfile(open, service);
    const reg = new MetricRegistry(() => 0);
    for (const step of oc.steps) {
      if (step.rate > ceiling * 1.5) break;
      for (let i = 0; i < step.rate * 3; i++) {
        reg.add('http_reqs', 1, { step: String(step.index) });
        reg.add('http_req_duration', step.rate > ceiling ? 600 + random() * 200 : 5 + step.rate / 10, {
          step: String(step.index),
        });
        reg.add('http_req_failed', 0, { step: String(step.index) });
      }
    }
    openModel[service] = analyzeOpenModel({
      service,
      metrics: reg.toK6Metrics(oc.options.thresholds, 24_000),
      steps: oc.steps,
      droppedByStep: oc.steps.map(() => 0),
    });
  }
  const easymo = buildEasymoSummary({
    metrics,
    compiled,
    profileName: profile.name,
    seed: await loadSeedResults(),
    tool: 'easymo-node-runner',
    testRunDurationMs: 120_000,
    openModel,
  });
  return { tool: easymo.tool, profile: easymo.profile, metrics: {}, easymo };
}

describe('HTML load report', () => {
  // Without a browser this is skipped on a laptop, but in CI (CI=true) it runs and fails, never passes silently.
  it.skipIf(!HAS_BROWSER && !process.env.CI)(
    'opens offline in headless Chromium with every chart drawn',
    async () => {
      if (!HAS_BROWSER) throw new Error(`no browser at ${BROWSER}: install chromium or set CHROME_PATH`);
      await mkdir(OUT, { recursive: true });
      const htmlPath = join(OUT, 'report.html');
      const summary = await syntheticSummary();
      expect(summary.easymo.openModel?.['voice-bridge'].maxSustainableRate).toBe(380);
      expect(summary.easymo.openModel?.['voice-bridge'].brokeAtRate).toBe(570);
      await writeReport(summary, htmlPath);
      expect((await stat(htmlPath)).size).toBeGreaterThan(200_000);

      const browser = await chromium.launch({
        executablePath: BROWSER,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      });
      try {
        const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
        const requests: string[] = [];
        const errors: string[] = [];
        page.on('request', (req) => requests.push(req.url()));
        page.on('pageerror', (error) => errors.push(error.message));
        await page.goto(pathToFileURL(htmlPath).href);
        await page.waitForSelector('body[data-charts-rendered]', { timeout: 15_000 });
        expect(errors).toEqual([]);
        // Self-contained: the page itself is the only thing it loads.
        expect(requests.filter((url) => !url.startsWith('file://'))).toEqual([]);
        expect(await page.getAttribute('body', 'data-charts-rendered')).toBe('5');

        const canvases = await page.$$eval('canvas', (elements) =>
          (elements as HTMLCanvasElement[]).map((canvas) => {
            const ctx = canvas.getContext('2d')!;
            const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
            let painted = 0;
            for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) painted++;
            return { id: canvas.id, width: canvas.width, height: canvas.height, painted };
          }),
        );
        expect(canvases.map((c) => c.id)).toEqual([
          'chart-throughput',
          'chart-latency',
          'chart-errors',
          'chart-services',
          'chart-open-model',
        ]);
        for (const canvas of canvases) {
          expect(canvas.width, canvas.id).toBeGreaterThan(200);
          expect(canvas.painted / (canvas.width * canvas.height), canvas.id).toBeGreaterThan(0.01);
        }
        await expect(page.textContent('h1')).resolves.toContain('PASSED');
        await expect(page.textContent('body')).resolves.toContain('EasyMO seed');
        await page.screenshot({ path: join(OUT, 'report.png'), fullPage: true });
        expect((await stat(join(OUT, 'report.png'))).size).toBeGreaterThan(20_000);
      } finally {
        await browser.close();
      }
    },
    60_000,
  );
});
