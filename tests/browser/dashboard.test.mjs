// The dashboard page in headless Chromium (Debian's chromium, driven by playwright-core)
// against a running `aurum serve` that `aurum simulate` has filled: the page shows the
// numbers the API returns, a sale's routing trace opens on click, a failing endpoint shows
// an error, an empty system shows how to fill it. Run by scripts/browser-test.sh, which
// starts the servers and sets:
//   AURUM_URL        the filled server, e.g. http://127.0.0.1:39017
//   AURUM_EMPTY_URL  a server with no sales (optional: that test is skipped without it)
//   AURUM_BROWSER_OUT where the screenshots go (default target/browser)
//   AURUM_BROWSER_DAYS the days simulated (14 or more: a forecast; 21 or more: backtested)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const URL_FILLED = process.env.AURUM_URL;
const URL_EMPTY = process.env.AURUM_EMPTY_URL;
const OUT = process.env.AURUM_BROWSER_OUT || 'target/browser';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
// Whole days `aurum simulate` played before today (0: unknown, no expectation on history).
const DAYS = Number(process.env.AURUM_BROWSER_DAYS || 0);

// Without these Chromium reaches for the network at start, which a closed network punishes.
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

const usd = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });
const pct = (v) => (typeof v === 'number' ? (v * 100).toFixed(1) + '%' : '–');

let context;
let profile;

before(async () => {
  assert.ok(URL_FILLED, 'AURUM_URL must name the running server');
  fs.mkdirSync(OUT, { recursive: true });
  profile = fs.mkdtempSync(path.join(os.tmpdir(), 'aurum-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1440, height: 900 },
    timeout: 60_000,
  });
});

after(async () => {
  if (context) await context.close();
  if (profile) fs.rmSync(profile, { recursive: true, force: true });
});

// A page that records console errors and CSP violations.
async function open(base, prepare) {
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__csp = (window.__csp || []).concat(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  if (prepare) await prepare(page);
  const response = await page.goto(`${base}/dashboard`, { waitUntil: 'load' });
  assert.equal(response.status(), 200);
  assert.match(response.headers()['content-security-policy'] || '', /^default-src 'none'/);
  await page.waitForSelector('body[data-loads]', { timeout: 30_000 });
  return { page, problems };
}

// The API as the page reads it: same origin, from inside the page.
async function apiJson(page, p) {
  return page.evaluate(async (u) => {
    const r = await fetch(u, { cache: 'no-store' });
    return { status: r.status, body: await r.json() };
  }, p);
}

test('the filled dashboard shows the numbers the API returns', async () => {
  const { page, problems } = await open(URL_FILLED);
  assert.equal(await page.getAttribute('body', 'data-state'), 'ok', await page.textContent('#banner'));
  const { status, body: d } = await apiJson(page, '/api/v1/revenue/dashboard');
  assert.equal(status, 200);
  assert.ok(d.revenue.month > 0, 'the simulation sold leads this month');

  // KPI tiles: the API's figures, formatted
  const tile = async (id) => ({
    text: (await page.textContent(`[data-testid="${id}"]`)).trim(),
    value: await page.getAttribute(`[data-testid="${id}"]`, 'data-value'),
  });
  const today = await tile('kpi-revenue-today');
  assert.equal(today.value, String(d.revenue.today));
  assert.equal(today.text, usd.format(d.revenue.today));
  const month = await tile('kpi-revenue-month');
  assert.equal(month.text, usd.format(d.revenue.month));
  assert.equal((await tile('kpi-leads-sold-today')).value, String(d.leads_sold_today));
  assert.equal((await tile('kpi-acceptance')).text, pct(d.acceptance_rate));
  assert.equal((await tile('kpi-sell-through')).text, pct(d.sell_through_rate));

  // Trend and heatmap: drawn from the API's series
  assert.ok(d.revenue_trend.length > 0);
  // every simulated day shows its sales (a day or two may sell nothing)
  const selling = d.revenue_trend.filter((p) => p.leads_sold > 0).length;
  if (DAYS) assert.ok(selling >= Math.min(DAYS, 29) - 2, `${selling} days with sales`);
  assert.equal(await page.locator('#trend-chart canvas').count(), 1);
  assert.equal(await page.locator('#heatmap tbody tr').count(), 7);
  assert.equal(await page.locator('#heatmap tbody td').count(), 7 * 24);
  const hot = d.revenue_by_hour.filter((c) => c.revenue > 0).length;
  assert.ok(hot > 0);
  assert.equal(await page.locator('#heatmap tbody td:not(.heat-0)').count(), hot);

  // Tiers and top buyers
  for (const [tier, n] of Object.entries(d.tier_distribution)) {
    const count = await page.getAttribute(`#tiers [data-tier="${tier}"]`, 'data-count');
    assert.equal(count, String(n), tier);
  }
  const top = await page.locator('#top-buyers [data-buyer]').evaluateAll((rows) => rows.map((r) => r.dataset.buyer));
  assert.deepEqual(top, d.top_buyers.map((b) => b.buyer_id));

  // Buyer table: one row per buyer of the API, same order and figures
  const { body: b } = await apiJson(page, '/api/v1/revenue/buyers');
  const rows = await page.locator('#buyers tr[data-buyer]').evaluateAll((trs) =>
    trs.map((tr) => ({
      id: tr.dataset.buyer,
      leads: tr.querySelector('[data-field="leads_sold"]').dataset.value,
      revenue: tr.querySelector('[data-field="revenue"]').textContent,
      acceptance: tr.querySelector('[data-field="acceptance_rate"]').textContent,
    })),
  );
  assert.deepEqual(
    rows,
    b.buyers.map((x) => ({ id: x.buyer_id, leads: String(x.leads_sold), revenue: usd.format(x.revenue), acceptance: pct(x.acceptance_rate) })),
  );

  // Forecast: two weeks of history give seven days with their interval and backtest
  const { body: f } = await apiJson(page, '/api/v1/revenue/forecast?period=daily&horizon=7');
  assert.equal(await page.getAttribute('#forecast-card', 'data-status'), f.status);
  // `days` whole days before today: 14 of them are enough to forecast, 21 to backtest.
  if (DAYS >= 14) assert.equal(f.status, 'ok', JSON.stringify(f).slice(0, 300));
  if (DAYS >= 21) {
    assert.ok(f.backtest && f.backtest.folds > 0, 'three weeks are backtested');
    assert.match(await page.textContent('#forecast-foot'), new RegExp(`MASE ${f.backtest.mase.toFixed(2)}`));
  }
  if (f.status === 'ok') {
    assert.equal(f.points.length, 7);
    assert.equal(await page.locator('#forecast-chart canvas').count(), 1);
    const total = f.points.reduce((s, p) => s + p.revenue, 0);
    assert.match(await page.textContent('[data-testid="forecast-total"]'), new RegExp(usd.format(total).replace(/[$.]/g, '\\$&')));
  }

  // Alerts: one line per alert of the API
  assert.equal(await page.locator('#alerts .alert').count(), d.alerts.length);

  await page.screenshot({ path: path.join(OUT, 'dashboard.png'), fullPage: true });
  assert.deepEqual(problems, []);
  assert.equal(await page.evaluate(() => (window.__csp || []).length), 0, 'no CSP violation');
  await page.close();
});

test('clicking a recent sale shows that lead\'s routing trace', async () => {
  const { page } = await open(URL_FILLED);
  const { body: d } = await apiJson(page, '/api/v1/revenue/dashboard');
  assert.ok(d.recent_sales.length > 0, 'the simulation made sales');
  assert.equal(await page.locator('#recent-sales tr[data-lead]').count(), d.recent_sales.length);
  // The newest sale whose lead is still held by the buyer the list names (a sale undone
  // and cascaded lists the first buyer's line too).
  let sale = d.recent_sales[0];
  for (const candidate of d.recent_sales) {
    const { body: l } = await apiJson(page, `/api/v1/leads/${candidate.lead_id}`);
    if (l.sale && l.sale.buyer_id === candidate.buyer_id) {
      sale = candidate;
      break;
    }
  }
  await page.click(`#recent-sales tr[data-lead="${sale.lead_id}"]`);
  await page.waitForSelector(`#drawer[data-loaded="${sale.lead_id}"]`, { timeout: 15_000 });
  const { status, body: lead } = await apiJson(page, `/api/v1/leads/${sale.lead_id}`);
  assert.equal(status, 200);
  assert.equal((await page.textContent('#drawer-title')).trim(), `Lead ${sale.lead_id}`);
  assert.equal(await page.textContent('#drawer [data-field="status"]'), lead.status);
  const trace = await page.locator('#drawer [data-testid="routing-trace"] tbody tr').evaluateAll((trs) =>
    trs.map((tr) => ({ id: tr.dataset.buyer, chosen: tr.classList.contains('chosen') })),
  );
  assert.deepEqual(trace, lead.routing.trace.map((t) => ({ id: t.buyer_id, chosen: t.chosen })));
  assert.ok(
    trace.some((t) => t.chosen && t.id === lead.sale.buyer_id),
    `the buyer that bought it is marked: ${JSON.stringify({ sale: lead.sale.buyer_id, status: lead.status, trace })}`,
  );
  await page.screenshot({ path: path.join(OUT, 'dashboard-trace.png') });
  await page.keyboard.press('Escape');
  assert.equal(await page.isHidden('#drawer'), true);
  await page.close();
});

test('a failing endpoint shows an error and keeps the rest', async () => {
  const { page } = await open(URL_FILLED, (p) =>
    p.route('**/api/v1/revenue/forecast*', (route) =>
      route.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify({ error: { code: 'unavailable', message: 'a dependency failed; retry shortly' } }) }),
    ),
  );
  assert.equal(await page.getAttribute('body', 'data-state'), 'error');
  assert.equal(await page.isVisible('#banner'), true);
  assert.match(await page.textContent('#banner'), /forecast answered 503 unavailable/);
  assert.equal((await page.textContent('#status')).trim(), 'Degraded');
  assert.match(await page.textContent('#forecast-card .panel-msg'), /Could not load \/api\/v1\/revenue\/forecast/);
  // the other panels still show their figures
  assert.notEqual((await page.textContent('[data-testid="kpi-revenue-month"]')).trim(), '–');
  await page.screenshot({ path: path.join(OUT, 'dashboard-error.png') });
  await page.close();
});

test('an empty system says how to fill it', { skip: !URL_EMPTY && 'AURUM_EMPTY_URL not set' }, async () => {
  const { page, problems } = await open(URL_EMPTY);
  assert.equal(await page.getAttribute('body', 'data-state'), 'ok', await page.textContent('#banner'));
  assert.equal(await page.isVisible('[data-testid="empty"]'), true);
  assert.match(await page.textContent('[data-testid="empty"]'), /aurum -- simulate --days 14/);
  assert.equal((await page.textContent('[data-testid="kpi-revenue-today"]')).trim(), usd.format(0));
  assert.equal(await page.getAttribute('#forecast-card', 'data-status'), 'insufficient_history');
  await page.screenshot({ path: path.join(OUT, 'dashboard-empty.png'), fullPage: true });
  assert.deepEqual(problems, []);
  await page.close();
});
