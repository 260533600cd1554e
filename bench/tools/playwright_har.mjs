// Playwright recordHar capture of the lab's Jira journey (the same steps as
// scenarios/jira-smoke.toml), or of one page. Prints JSON: wall time (browser launch included),
// entries in the HAR. Chromium is Debian's /usr/bin/chromium; Playwright downloads nothing.
//
// node playwright_har.mjs journey BASE_URL OUT.har USER PASSWORD_ENV_NAME
// node playwright_har.mjs page    URL      OUT.har COOKIE_NAME COOKIE_VALUE_ENV_NAME
import { chromium } from 'playwright-core';
import { readFileSync } from 'node:fs';

const [mode, base, out, a, bEnv] = process.argv.slice(2);
const t0 = performance.now();
const browser = await chromium.launch({
  executablePath: process.env.CHROME_PATH || '/usr/bin/chromium',
  args: ['--no-sandbox'],
  headless: true,
});
const context = await browser.newContext({ recordHar: { path: out, mode: 'full' } });
const page = await context.newPage();
const timeout = 30000;
if (mode === 'journey') {
  const u = (p) => new URL(p, base).toString();
  await page.goto(u('/login.jsp'));
  await page.waitForSelector('#login-form-username', { timeout });
  await page.fill('#login-form-username', a);
  await page.fill('#login-form-password', process.env[bEnv]);
  await page.click('#login-form-submit');
  await page.waitForLoadState('networkidle');
  await page.waitForSelector('#header-details-user-fullname', { timeout });
  await page.goto(u('/secure/Dashboard.jspa'));
  await page.waitForSelector('#dashboard', { timeout });
  await page.getByText('System Dashboard').first().waitFor({ timeout });
  await page.waitForLoadState('networkidle');
  await page.goto(u('/browse/LAB-1'));
  await page.waitForSelector('#summary-val', { timeout });
  await page.waitForLoadState('networkidle');
  await page.goto(u('/issues/?jql=project%20%3D%20LAB'));
  await page.waitForSelector('#issuetable, #issue-content, .no-results-message', { timeout });
  await page.waitForLoadState('networkidle');
  await page.click('#create_link');
  await page.waitForSelector('#create-issue-dialog', { timeout: 15000 });
  await page.waitForSelector('#create-issue-dialog #summary', { timeout });
  await page.keyboard.press('Escape');
  await page.goto(u('/projects/LAB/summary'));
  await page.waitForSelector('.project-meta-column', { timeout });
  await page.waitForLoadState('networkidle');
} else {
  const url = new URL(base);
  await context.addCookies([{ name: a, value: process.env[bEnv], domain: url.hostname, path: '/' }]);
  await page.goto(base, { waitUntil: 'networkidle' });
}
await context.close(); // writes the HAR
await browser.close();
const wall = (performance.now() - t0) / 1000;
const har = JSON.parse(readFileSync(out, 'utf8'));
console.log(JSON.stringify({ wall_s: +wall.toFixed(3), entries: har.log.entries.length }));
