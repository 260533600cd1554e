// Playwright recordHar capture of the lab's Jira journey (the same steps as
// scenarios/jira-smoke.toml, its REST discovery included), or of one page. Prints JSON: wall time
// (browser launch included), entries in the HAR. Chromium is Debian's /usr/bin/chromium;
// Playwright downloads nothing. BENCH_TRACE=1 prints each step's start (ms since launch) to
// stderr, for a timeline beside cdnprobe's (`RUST_LOG=cdnprobe=debug`).
//
// node playwright_har.mjs journey BASE_URL OUT.har USER PASSWORD_ENV_NAME
// node playwright_har.mjs page    URL      OUT.har COOKIE_NAME COOKIE_VALUE_ENV_NAME
import { chromium } from 'playwright-core';
import { readFileSync } from 'node:fs';

const [mode, base, out, a, bEnv] = process.argv.slice(2);
const t0 = performance.now();
const trace = (what) => {
  if (process.env.BENCH_TRACE) console.error(`${(performance.now() - t0).toFixed(0).padStart(6)} ms ${what}`);
};
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
  trace('goto login');
  await page.goto(u('/login.jsp'));
  await page.waitForSelector('#login-form-username', { timeout });
  trace('log in');
  await page.fill('#login-form-username', a);
  await page.fill('#login-form-password', process.env[bEnv]);
  await page.click('#login-form-submit');
  await page.waitForLoadState('networkidle');
  await page.waitForSelector('#header-details-user-fullname', { timeout });
  // The scenario's `discover` step: the same REST request from the page (src/browser/discover.rs).
  trace('discover');
  const found = await page.evaluate(async (b) => {
    const get = async (path) => (await fetch(b + path, { credentials: 'same-origin', headers: { Accept: 'application/json' } })).json();
    const r = await get('/rest/api/2/search?maxResults=1&fields=project&jql=' + encodeURIComponent('ORDER BY created DESC'));
    const issue = (r.issues || [])[0];
    let project = issue && issue.fields && issue.fields.project && issue.fields.project.key;
    if (!project) project = ((await get('/rest/api/2/project'))[0] || {}).key;
    return { issue: issue && issue.key, project };
  }, new URL(base).toString().replace(/\/$/, ''));
  const issue = found.issue || 'LAB-1', project = found.project || 'LAB';
  trace('goto dashboard');
  await page.goto(u('/secure/Dashboard.jspa'));
  await page.waitForSelector('#dashboard', { timeout });
  await page.getByText('System Dashboard').first().waitFor({ timeout });
  await page.waitForLoadState('networkidle');
  trace('goto issue');
  await page.goto(u(`/browse/${issue}`));
  await page.waitForSelector('#summary-val', { timeout });
  await page.waitForLoadState('networkidle');
  trace('goto search');
  await page.goto(u(`/issues/?jql=project%20%3D%20${project}`));
  await page.waitForSelector('#issuetable, #issue-content, .no-results-message', { timeout });
  await page.waitForLoadState('networkidle');
  trace('create dialog');
  await page.click('#create_link');
  await page.waitForSelector('#create-issue-dialog', { timeout: 15000 });
  await page.waitForSelector('#create-issue-dialog #summary', { timeout });
  trace('escape');
  await page.keyboard.press('Escape');
  trace('goto project summary');
  await page.goto(u(`/projects/${project}/summary`));
  await page.waitForSelector('.project-meta-column', { timeout });
  await page.waitForLoadState('networkidle');
  trace('screenshot');
  await page.screenshot({ path: out.replace(/\.har$/, '') + '-summary.png' });
} else {
  const url = new URL(base);
  await context.addCookies([{ name: a, value: process.env[bEnv], domain: url.hostname, path: '/' }]);
  await page.goto(base, { waitUntil: 'networkidle' });
}
trace('close context (writes the HAR)');
await context.close(); // writes the HAR
trace('close browser');
await browser.close();
trace('closed');
const wall = (performance.now() - t0) / 1000;
const har = JSON.parse(readFileSync(out, 'utf8'));
console.log(JSON.stringify({ wall_s: +wall.toFixed(3), entries: har.log.entries.length }));
