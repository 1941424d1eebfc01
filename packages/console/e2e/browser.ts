// Debian's Chromium driven by playwright-core (no browser download: /usr/bin/chromium from apt).
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** Without these Chromium keeps trying to reach update and field-trial hosts this network does not have. */
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
];

/** Screenshots of every page, for a person to look at (git-ignored). */
export const SCREENSHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url));

export type Browser = {
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught page errors (a CSP refusal shows up here). */
  problems: string[];
  close(): Promise<void>;
};

/** A fresh profile (own --user-data-dir) per launch: nothing carries over between runs. */
export async function launch(): Promise<Browser> {
  const profile = await mkdtemp(join(tmpdir(), 'tollgate-chromium-'));
  await mkdir(SCREENSHOTS, { recursive: true });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1280, height: 860 },
    acceptDownloads: true,
    locale: 'en-US',
    timezoneId: 'UTC',
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  return {
    context,
    page,
    problems,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export type AxeViolation = { id: string; impact: string | null; help: string; targets: string[] };

/**
 * axe-core's WCAG checks on the current page. Evaluated through the DevTools protocol, which the
 * page's CSP does not apply to (an injected <script> would be refused, as it should).
 */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(axeSource);
  return page.evaluate(`axe.run(document, { resultTypes: ['violations'] }).then((r) =>
    r.violations.map((v) => ({ id: v.id, impact: v.impact ?? null, help: v.help,
      targets: v.nodes.map((n) => String(n.target)) })))`) as Promise<AxeViolation[]>;
}

/** Saves `<name>.png` and returns the serious or critical accessibility violations of the page. */
export async function capture(page: Page, name: string): Promise<AxeViolation[]> {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  const violations = await axeViolations(page);
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}
