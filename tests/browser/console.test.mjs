// The sales console in headless Chromium (Debian's chromium, driven by playwright-core)
// against a running `aurum serve` with its example buyers: the team creates a buyer and a
// lead is routed to it; it sends the buyer a signed test message; it pauses the buyer and
// the next lead's trace names the pause and its reason; it rotates the buyer's secret and
// the old secret keeps verifying during the overlap; it finds an ended lead and offers it
// again; the audit lists every change. Run by scripts/browser-test.sh, which sets:
//   AURUM_CONSOLE_URL  a server with the example buyers, e.g. http://127.0.0.1:39017
//   AURUM_BROWSER_OUT  where the screenshots go (default target/browser)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const BASE = process.env.AURUM_CONSOLE_URL;
const OUT = process.env.AURUM_BROWSER_OUT || 'target/browser';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync',
];
const CHAT = '/api/v1/conversation/revenue-optimized';
const BUYER = 'browser_installer';

// A buyer's webhook on loopback: keeps every request and whether one of the secrets it
// trusts verifies it (Standard Webhooks: HMAC-SHA256 of "id.timestamp.body").
const received = [];
let trusted = [];
function verifies(headers, body) {
  const id = headers['webhook-id'];
  const ts = headers['webhook-timestamp'];
  const sigs = (headers['webhook-signature'] || '').split(' ').map((s) => s.split(',')[1]).filter(Boolean);
  return trusted.some((secret) => {
    const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
    const mac = crypto.createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest('base64');
    return sigs.includes(mac);
  });
}
const webhook = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    const ok = verifies(req.headers, body);
    let type = null;
    try { type = JSON.parse(body).type; } catch { /* not JSON */ }
    received.push({ type, verified: ok, signatures: (req.headers['webhook-signature'] || '').split(' ').length });
    res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
    res.end(JSON.stringify(ok ? { accepted: true } : { accepted: false, reason: 'invalid_signature' }));
  });
});

let context;
let profile;
let webhookUrl;

async function api(method, route, body) {
  const r = await fetch(BASE + route, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, body: await r.json().catch(() => null) };
}

// A chat that qualifies and consents; returns its lead id once queued.
async function qualifiedChat(session, phone) {
  const lines = [
    "Hi! I own a single-family house in Park Slope and I'm thinking about solar.",
    'Our Con Ed bill is about $320 a month. ZIP is 11215.',
    "We'd like to get it done in the next few months. My wife and I decide together.",
    'How does net metering work, and do I need a battery?',
    `My name is Dana Reyes, you can reach me at (718) 555-${phone}.`,
    'Yes, you can share my info with an installer and have them call me.',
  ];
  let token;
  let leadId = null;
  for (const message of lines) {
    const r = await api('POST', CHAT, { session_id: session, message, session_token: token });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    token = r.body.session_token || token;
    leadId = r.body.lead_id || leadId;
  }
  assert.ok(leadId, 'the chat queued a lead');
  return leadId;
}

async function leadView(id, until, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await api('GET', `/api/v1/leads/${id}`);
    if (r.status === 200 && until(r.body)) return r.body;
    if (Date.now() > deadline) assert.fail(`lead ${id} never got there: ${JSON.stringify(r.body)}`);
    await new Promise((ok) => setTimeout(ok, 250));
  }
}

before(async () => {
  assert.ok(BASE, 'AURUM_CONSOLE_URL must name the running server');
  fs.mkdirSync(OUT, { recursive: true });
  await new Promise((ok) => webhook.listen(0, '127.0.0.1', ok));
  webhookUrl = `http://127.0.0.1:${webhook.address().port}/leads`;
  profile = fs.mkdtempSync(path.join(os.tmpdir(), 'aurum-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: FLAGS,
    viewport: { width: 1440, height: 1000 }, timeout: 60_000,
  });
  // Only the new buyer may take leads: every example buyer is paused through the API.
  const list = await api('GET', '/api/v1/admin/buyers');
  for (const b of list.body) {
    const r = await api('POST', `/api/v1/admin/buyers/${b.terms.id}/standing`,
      { standing: 'paused', reason: 'held back while a new installer starts', version: b.version });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  }
});

after(async () => {
  if (context) await context.close();
  if (profile) fs.rmSync(profile, { recursive: true, force: true });
  webhook.close();
});

async function openConsole() {
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  const response = await page.goto(`${BASE}/console`, { waitUntil: 'load' });
  assert.equal(response.status(), 200);
  assert.match(response.headers()['content-security-policy'] || '', /^default-src 'none'/);
  await page.waitForSelector('[data-testid="buyers"] tbody tr');
  return { page, problems };
}

const row = (page, id) => page.locator(`[data-testid="buyers"] tbody tr[data-buyer="${id}"]`);

test('the team creates a buyer, tests it, sells it a lead, pauses it, rotates its secret and reads the audit', async () => {
  const { page, problems } = await openConsole();
  await page.screenshot({ path: path.join(OUT, 'console-buyers.png'), fullPage: true });

  // Create: the form, the secret shown once.
  await page.click('[data-testid="new-buyer"]');
  const form = page.locator('#buyer-form');
  await form.locator('[name=id]').fill(BUYER);
  await form.locator('[name=name]').fill('Browser Installer LLC');
  await form.locator('[name=tier]').selectOption('premium');
  await form.locator('[name=min_quality]').selectOption('basic');
  await form.locator('[name=price_floor_cents]').fill('5000');
  await form.locator('[name=price_cap_cents]').fill('60000');
  await form.locator('[name=daily_cap]').fill('50');
  await form.locator('[name=boroughs]').fill('brooklyn, queens');
  await form.locator('[name=webhook_url]').fill(webhookUrl);
  await form.locator('[name=property_types]').fill('single_family, townhouse');
  await form.locator('[name=exclude_coops]').check();
  await page.screenshot({ path: path.join(OUT, 'console-new-buyer.png'), fullPage: true });
  await page.click('[data-testid="save-buyer"]');
  await page.waitForSelector('[data-testid="secret-box"]:not([hidden])');
  const first = (await page.textContent('[data-testid="secret-value"]')).trim();
  assert.match(first, /^whsec_[A-Za-z0-9+/=]{40,}$/);
  trusted = [first];
  await page.screenshot({ path: path.join(OUT, 'console-secret-once.png'), fullPage: true });
  await page.click('#secret-done');
  await row(page, BUYER).waitFor();
  assert.equal(await row(page, BUYER).locator('[data-testid="standing"]').textContent(), 'active');
  const listed = await api('GET', '/api/v1/admin/buyers');
  assert.ok(!JSON.stringify(listed.body).includes('whsec_'), 'the list never shows a secret');

  // A signed test message, answered.
  await row(page, BUYER).locator('[data-testid="test"]').click();
  await page.waitForSelector('[data-testid="test-result"]:not([hidden])');
  assert.match(await page.textContent('#test-summary'), /answered HTTP 200/);
  assert.ok(received.some((r) => r.type === 'lead.test' && r.verified));

  // A lead is routed to it.
  const sold = await qualifiedChat(`chat_console_${Date.now()}`, '0187');
  const view = await leadView(sold, (l) => l.sale && l.status === 'delivered');
  assert.equal(view.sale.buyer_id, BUYER);
  assert.ok(received.some((r) => r.type === 'lead.sold' && r.verified));

  // Paused with a reason: the next lead's trace names the pause and the reason.
  page.once('dialog', (d) => d.accept('invoice overdue'));
  await row(page, BUYER).locator('[data-testid="pause"]').click();
  await page.waitForFunction((id) => {
    const cell = document.querySelector(`tr[data-buyer="${id}"] [data-testid="standing"]`);
    return cell && cell.textContent.startsWith('paused');
  }, BUYER);
  const held = await qualifiedChat(`chat_console_paused_${Date.now()}`, '0194');
  await leadView(held, (l) => l.routing && l.status !== 'queued');
  await page.click('[data-testid="search-leads"]');
  await page.locator(`[data-testid="leads"] tr[data-lead="${held}"] a`).click();
  const traced = page.locator(`[data-testid="lead-detail"] tr[data-buyer="${BUYER}"]`);
  await traced.waitFor();
  assert.equal(await traced.locator('[data-testid="excluded-by"]').textContent(), 'paused_by_sales_team');
  assert.equal(await traced.locator('[data-testid="trace-note"]').textContent(), 'invoice overdue');
  await page.screenshot({ path: path.join(OUT, 'console-paused-trace.png'), fullPage: true });

  // Resumed; the waiting lead is offered again from the leads table and sells.
  await row(page, BUYER).locator('[data-testid="resume"]').click();
  await page.waitForFunction((id) => {
    const cell = document.querySelector(`tr[data-buyer="${id}"] [data-testid="standing"]`);
    return cell && cell.textContent === 'active';
  }, BUYER);
  await page.click('[data-testid="search-leads"]');
  const waiting = page.locator(`[data-testid="leads"] tr[data-lead="${held}"]`);
  await waiting.waitFor();
  if (await waiting.locator('[data-testid="reoffer"]').count()) {
    await waiting.locator('[data-testid="reoffer"]').click();
  }
  const resold = await leadView(held, (l) => l.status === 'delivered');
  assert.equal(resold.sale.buyer_id, BUYER);

  // Rotated: the new secret once; deliveries carry both signatures during the overlap.
  page.once('dialog', (d) => d.accept('2'));
  await row(page, BUYER).locator('[data-testid="rotate"]').click();
  await page.waitForSelector('[data-testid="secret-box"]:not([hidden])');
  const second = (await page.textContent('[data-testid="secret-value"]')).trim();
  assert.notEqual(second, first);
  assert.match(await page.textContent('#secret-overlap'), /keeps working until/);
  await page.click('#secret-done');
  trusted = [first]; // the buyer has not switched yet
  await row(page, BUYER).locator('[data-testid="test"]').click();
  await page.waitForFunction(() => /answered HTTP 200/.test(document.querySelector('#test-summary').textContent));
  const lastTest = received.filter((r) => r.type === 'lead.test').at(-1);
  assert.ok(lastTest.verified && lastTest.signatures === 2, JSON.stringify(lastTest));
  trusted = [second]; // and after it switched
  await row(page, BUYER).locator('[data-testid="test"]').click();
  await page.waitForFunction(() => /answered HTTP 200/.test(document.querySelector('#test-summary').textContent));
  assert.ok(received.filter((r) => r.type === 'lead.test').at(-1).verified);

  // The audit: every change, who and what, never a secret.
  await page.click('#refresh');
  await page.waitForFunction(() => document.querySelectorAll('#audit-rows tr').length >= 5);
  const audit = await page.textContent('[data-testid="audit"]');
  for (const action of ['buyer.created', 'buyer.paused', 'buyer.resumed', 'buyer.secret_rotated']) {
    assert.ok(audit.includes(action), `${action} in the audit`);
  }
  assert.ok(!audit.includes('whsec_'));
  await page.screenshot({ path: path.join(OUT, 'console-audit.png'), fullPage: true });
  assert.deepEqual(problems, []);
  await page.close();
});

test('two operators editing the same buyer: the second is told, nothing is overwritten', async () => {
  const { page, problems } = await openConsole();
  await row(page, BUYER).locator('[data-testid="edit"]').click();
  // Meanwhile another operator changes the buyer.
  const current = (await api('GET', `/api/v1/admin/buyers/${BUYER}`)).body;
  const theirs = { ...current.terms, daily_cap: 12 };
  const r = await api('PUT', `/api/v1/admin/buyers/${BUYER}`, { terms: theirs, version: current.version });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  await page.locator('#buyer-form [name=daily_cap]').fill('99');
  await page.click('[data-testid="save-buyer"]');
  await page.waitForFunction(() => /changed since version/.test(document.querySelector('[data-testid="form-error"]').textContent));
  const after = (await api('GET', `/api/v1/admin/buyers/${BUYER}`)).body;
  assert.equal(after.terms.daily_cap, 12, 'the other operator\'s change stands');
  await page.screenshot({ path: path.join(OUT, 'console-conflict.png'), fullPage: true });
  assert.deepEqual(problems, []);
  await page.close();
});
