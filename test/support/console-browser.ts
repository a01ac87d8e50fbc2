import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { type Browser, chromium, type Page } from 'playwright-core';

/** CHROME_PATH (e.g. GitHub runners' /usr/bin/google-chrome), else Debian's Chromium. */
export const BROWSER_PATH = process.env.CHROME_PATH || '/usr/bin/chromium';
export const HAS_BROWSER = existsSync(BROWSER_PATH);

/** Headless and offline-quiet: nothing but the pages under test reaches the network. */
export function launchBrowser(): Promise<Browser> {
  if (!HAS_BROWSER) throw new Error(`no browser at ${BROWSER_PATH}: install chromium or set CHROME_PATH`);
  return chromium.launch({
    executablePath: BROWSER_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

const AXE_PATH = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

/** axe-core injected into the page; the serious and critical violations it reports. */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  await page.addScriptTag({ path: AXE_PATH });
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(): Promise<{ violations: unknown[] }> } }).axe;
    return (await axe.run()).violations as Array<{
      id: string;
      impact: string | null;
      help: string;
      nodes: Array<{ target: string[] }>;
    }>;
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.map((n) => n.target.join(' ')),
    }));
}
