// The sales console: buyers (list, create, edit, pause / resume, deactivate, rotate a
// secret, send a test message) and the audit of every change, over the same-origin API.
(() => {
  'use strict';
  const TOKEN_KEY = 'aurum.token';
  const $ = (id) => document.getElementById(id);
  let buyers = [];
  let editing = null; // the summary being edited, or null for a new buyer

  function headers(json) {
    const h = { Accept: 'application/json' };
    if (json) h['Content-Type'] = 'application/json';
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) h.Authorization = 'Bearer ' + token;
    return h;
  }

  async function call(method, path, body) {
    const response = await fetch(path, {
      method,
      headers: headers(body !== undefined),
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'same-origin',
    });
    if (response.status === 401) {
      $('signin').hidden = false;
      throw new Error('sign in first');
    }
    const data = await response.json().catch(() => null);
    if (!response.ok) {
      const message = data && data.error ? data.error.message : 'HTTP ' + response.status;
      const error = new Error(message);
      error.status = response.status;
      throw error;
    }
    return data;
  }

  function status(text, kind) {
    const pill = $('status');
    pill.textContent = text;
    pill.className = 'pill pill-' + kind;
  }

  function banner(text) {
    const b = $('banner');
    b.textContent = text;
    b.hidden = !text;
  }

  function cell(row, text, cls) {
    const td = document.createElement('td');
    td.textContent = text;
    if (cls) td.className = cls;
    row.appendChild(td);
    return td;
  }

  function button(label, testid, action) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'btn';
    b.textContent = label;
    b.dataset.testid = testid;
    b.addEventListener('click', () => action().catch((e) => banner(label + ': ' + e.message)));
    return b;
  }

  const dollars = (cents) => '$' + (cents / 100).toFixed(2);

  function renderBuyers() {
    const body = $('buyer-rows');
    body.replaceChildren();
    for (const b of buyers) {
      const t = b.terms;
      const row = document.createElement('tr');
      row.dataset.buyer = t.id;
      cell(row, t.name + ' (' + t.id + ')');
      cell(row, t.tier);
      cell(row, dollars(t.price_floor_cents) + '–' + dollars(t.price_cap_cents));
      cell(row, String(t.daily_cap));
      cell(row, [...t.boroughs, ...t.zips].join(', '));
      const standing = cell(row, b.standing, 'standing-' + b.standing);
      standing.dataset.testid = 'standing';
      if (b.pause) standing.title = b.pause.reason + ' — ' + b.pause.by;
      if (b.pause) standing.textContent = 'paused: ' + b.pause.reason;
      cell(row, b.failing_until ? 'failing, paused until ' + b.failing_until
        : b.consecutive_failures + ' failed in a row');
      cell(row, String(b.version));
      const actions = cell(row, '');
      const box = document.createElement('div');
      box.className = 'row-actions';
      box.append(
        button('Edit', 'edit', async () => edit(b)),
        b.standing === 'paused'
          ? button('Resume', 'resume', () => setStanding(b, 'active'))
          : button('Pause', 'pause', async () => {
            const reason = window.prompt('Why pause ' + t.name + '? (shown in the routing trace)');
            if (reason) await setStanding(b, 'paused', reason);
          }),
        b.standing === 'inactive'
          ? button('Activate', 'activate', () => setStanding(b, 'active'))
          : button('Deactivate', 'deactivate', () => setStanding(b, 'inactive')),
        button('Rotate secret', 'rotate', () => rotate(b)),
        button('Send test lead', 'test', () => sendTest(b)),
      );
      actions.appendChild(box);
      body.appendChild(row);
    }
  }

  function renderAudit(entries) {
    const body = $('audit-rows');
    body.replaceChildren();
    for (const e of entries) {
      const row = document.createElement('tr');
      cell(row, new Date(e.at).toLocaleString());
      cell(row, e.actor);
      cell(row, e.action);
      cell(row, e.target);
      cell(row, describeChange(e.before, e.after), 'changed');
      body.appendChild(row);
    }
  }

  function describeChange(before, after) {
    if (!before) return 'created';
    if (!after) return 'removed';
    const changed = [];
    for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
      if (key === 'version') continue;
      if (JSON.stringify(before[key]) !== JSON.stringify(after[key])) {
        changed.push(key + ': ' + JSON.stringify(before[key] ?? null) + ' → ' + JSON.stringify(after[key] ?? null));
      }
    }
    return changed.join('; ') || 'no term changed';
  }

  async function load() {
    try {
      buyers = await call('GET', '/api/v1/admin/buyers');
      renderBuyers();
      const audit = await call('GET', '/api/v1/admin/audit?limit=50');
      renderAudit(audit.entries);
      await searchLeads();
      $('signin').hidden = true;
      status('Up to date', 'ok');
    } catch (e) {
      status('Not loaded', 'bad');
      if (e.message !== 'sign in first') banner('Could not load: ' + e.message);
    }
  }

  async function setStanding(b, standing, reason) {
    await call('POST', '/api/v1/admin/buyers/' + b.terms.id + '/standing',
      { standing, reason, version: b.version });
    banner('');
    await load();
  }

  async function rotate(b) {
    const overlap = window.prompt('How many hours should the current secret keep working? (1–168)', '24');
    if (!overlap) return;
    const answer = await call('POST', '/api/v1/admin/buyers/' + b.terms.id + '/secret',
      { version: b.version, overlap_hours: Number(overlap) });
    showSecret(answer);
    await load();
  }

  function showSecret(answer) {
    $('secret-buyer').textContent = answer.buyer_id;
    $('secret-value').textContent = answer.secret;
    $('secret-overlap').textContent = answer.previous_valid_until
      ? 'The previous secret keeps working until ' + new Date(answer.previous_valid_until).toLocaleString() + '.'
      : '';
    $('secret-box').hidden = false;
  }

  async function sendTest(b) {
    const probe = await call('POST', '/api/v1/admin/buyers/' + b.terms.id + '/test');
    $('test-summary').textContent = probe.status
      ? b.terms.name + ' answered HTTP ' + probe.status + ' in ' + probe.latency_ms + ' ms'
      : b.terms.name + ': no answer (' + probe.error + ') after ' + probe.latency_ms + ' ms';
    $('test-answer').textContent = probe.answer || '';
    $('test-result').hidden = false;
  }

  const OFFERABLE = ['waiting', 'expired', 'unsold', 'dead_lettered'];

  async function searchLeads(event) {
    if (event) event.preventDefault();
    const params = new URLSearchParams();
    for (const el of $('lead-search').elements) {
      if (el.name && el.value.trim()) params.set(el.name, el.value.trim());
    }
    params.set('limit', '50');
    try {
      const result = await call('GET', '/api/v1/admin/leads?' + params.toString());
      renderLeads(result);
    } catch (e) {
      banner('Lead search: ' + e.message);
    }
  }

  function renderLeads(result) {
    const body = $('lead-rows');
    body.replaceChildren();
    $('lead-note').textContent = result.leads.length + ' found' + (result.complete ? '' : ' (not every lead was read)');
    for (const l of result.leads) {
      const row = document.createElement('tr');
      row.dataset.lead = l.lead_id;
      const id = cell(row, '');
      const link = document.createElement('a');
      link.href = '#';
      link.textContent = l.lead_id;
      link.addEventListener('click', (e) => { e.preventDefault(); showLead(l.lead_id).catch((err) => banner(err.message)); });
      id.appendChild(link);
      const st = cell(row, l.status);
      st.dataset.testid = 'lead-status';
      cell(row, l.score ?? '–');
      cell(row, l.tier ?? '–');
      cell(row, l.queued_at ? new Date(l.queued_at).toLocaleString() : '–');
      cell(row, l.buyer_id ?? '–');
      cell(row, l.price != null ? '$' + Number(l.price).toFixed(2) : '–');
      cell(row, l.unsold_reason ?? '');
      const act = cell(row, '');
      if (OFFERABLE.includes(l.status)) {
        act.appendChild(button('Offer again', 'reoffer', async () => {
          const r = await call('POST', '/api/v1/admin/leads/' + l.lead_id + '/reoffer');
          banner('');
          $('lead-note').textContent = l.lead_id + ' offered again (offer ' + r.offer + ')';
          await load();
        }));
      }
      body.appendChild(row);
    }
  }

  async function showLead(id) {
    const lead = await call('GET', '/api/v1/leads/' + id);
    $('lead-detail-title').textContent = id + ' — ' + lead.status + (lead.routing ? ' — ' + lead.routing.reason : '');
    const body = $('trace-rows');
    body.replaceChildren();
    for (const t of (lead.routing ? lead.routing.trace : [])) {
      const row = document.createElement('tr');
      row.dataset.buyer = t.buyer_id;
      cell(row, t.buyer_id + (t.chosen ? ' ✓' : ''));
      cell(row, t.eligible ? 'yes' : 'no');
      const by = cell(row, t.excluded_by ?? '');
      by.dataset.testid = 'excluded-by';
      const note = cell(row, t.note ?? '');
      note.dataset.testid = 'trace-note';
      cell(row, t.price != null ? '$' + Number(t.price).toFixed(2) : '');
      body.appendChild(row);
    }
    $('lead-detail').hidden = false;
  }

  const LISTS = ['boroughs', 'zips', 'days', 'property_types'];
  const NUMBERS = ['price_floor_cents', 'price_cap_cents', 'daily_cap', 'monthly_spend_cap_cents',
    'return_window_days', 'min_monthly_bill_cents'];

  function edit(summary) {
    editing = summary;
    const form = $('buyer-form');
    form.reset();
    $('form-error').textContent = '';
    $('editor-title').textContent = summary ? 'Edit ' + summary.terms.name : 'New buyer';
    form.elements.id.readOnly = !!summary;
    if (summary) {
      const t = summary.terms;
      for (const el of form.elements) {
        if (!el.name || !(el.name in t)) continue;
        const v = t[el.name];
        if (el.type === 'checkbox') el.checked = !!v;
        else if (LISTS.includes(el.name)) el.value = (v || []).join(', ');
        else el.value = v ?? '';
      }
    }
    $('editor').hidden = false;
    form.elements[summary ? 'name' : 'id'].focus();
  }

  function termsFromForm() {
    const form = $('buyer-form');
    const terms = {};
    for (const el of form.elements) {
      if (!el.name) continue;
      if (el.type === 'checkbox') terms[el.name] = el.checked;
      else if (LISTS.includes(el.name)) terms[el.name] = el.value.split(',').map((s) => s.trim()).filter(Boolean);
      else if (NUMBERS.includes(el.name)) { if (el.value !== '') terms[el.name] = Number(el.value); }
      else terms[el.name] = el.value.trim();
    }
    return terms;
  }

  async function save(event) {
    event.preventDefault();
    const terms = termsFromForm();
    try {
      if (editing) {
        await call('PUT', '/api/v1/admin/buyers/' + editing.terms.id, { terms, version: editing.version });
      } else {
        showSecret(await call('POST', '/api/v1/admin/buyers', terms));
      }
      $('editor').hidden = true;
      editing = null;
      await load();
    } catch (e) {
      $('form-error').textContent = e.status === 409
        ? e.message + ' (someone else changed it: reload and edit again)'
        : e.message;
    }
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('refresh').addEventListener('click', load);
    $('new-buyer').addEventListener('click', () => edit(null));
    $('cancel-edit').addEventListener('click', () => { $('editor').hidden = true; editing = null; });
    $('buyer-form').addEventListener('submit', save);
    $('lead-search').addEventListener('submit', searchLeads);
    $('secret-done').addEventListener('click', () => {
      $('secret-value').textContent = '';
      $('secret-box').hidden = true;
    });
    $('signin-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const token = $('token').value.trim();
      if (token) sessionStorage.setItem(TOKEN_KEY, token);
      $('token').value = '';
      load();
    });
    load();
  });
})();
