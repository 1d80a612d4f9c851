// The revenue dashboard: reads the sales team's API on this origin and draws it. Every
// number shown is the API's, formatted; nothing is computed here but widths and colours.
(() => {
  'use strict';

  const REFRESH_MS = 15000;
  const TZ = 'America/New_York';
  const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
  const WEEKDAY_NAMES = { mon: 'Mon', tue: 'Tue', wed: 'Wed', thu: 'Thu', fri: 'Fri', sat: 'Sat', sun: 'Sun' };
  const TIERS = ['premium', 'standard', 'basic', 'unqualified'];
  const TOKEN_KEY = 'aurum.token';

  const usdFormat = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });
  const usdShort = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', maximumFractionDigits: 0 });
  const timeFormat = new Intl.DateTimeFormat('en-US', { timeZone: TZ, month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit' });
  const clockFormat = new Intl.DateTimeFormat('en-US', { timeZone: TZ, hour: 'numeric', minute: '2-digit', second: '2-digit' });

  const fmt = {
    usd: (v) => (typeof v === 'number' ? usdFormat.format(v) : '–'),
    pct: (v) => (typeof v === 'number' ? (v * 100).toFixed(1) + '%' : '–'),
    int: (v) => (typeof v === 'number' ? v.toLocaleString('en-US') : '–'),
    time: (v) => (v ? timeFormat.format(new Date(v)) : '–'),
  };

  const $ = (id) => document.getElementById(id);

  // Builds an element: el('td', {class: 'num', dataset: {field: 'x'}}, 'text', child…)
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') node.className = v;
      else if (k === 'dataset') Object.assign(node.dataset, v);
      else node.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  // ---- the API -------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(path, status, code, message) {
      super(message);
      this.path = path;
      this.status = status;
      this.code = code;
    }
  }

  async function api(path) {
    const headers = { Accept: 'application/json' };
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) headers.Authorization = 'Bearer ' + token;
    let response;
    try {
      response = await fetch(path, { headers, cache: 'no-store', credentials: 'same-origin' });
    } catch (e) {
      throw new ApiError(path, 0, 'network', 'the server cannot be reached');
    }
    let body = null;
    try {
      body = await response.json();
    } catch (e) {
      body = null;
    }
    if (!response.ok) {
      const error = (body && body.error) || {};
      throw new ApiError(path, response.status, error.code || 'error', error.message || response.statusText || 'request failed');
    }
    return body;
  }

  const ENDPOINTS = {
    dashboard: '/api/v1/revenue/dashboard',
    forecast: '/api/v1/revenue/forecast?period=daily&horizon=7',
    buyers: '/api/v1/revenue/buyers',
    recommendations: '/api/v1/revenue/recommendations',
  };

  // ---- panels --------------------------------------------------------------------------

  function panelMessage(cardId, text, isError) {
    const card = $(cardId);
    if (!card) return;
    const msg = card.querySelector('.panel-msg');
    if (!msg) return;
    msg.hidden = !text;
    msg.textContent = text || '';
    msg.classList.toggle('error', Boolean(isError));
  }

  function get(obj, path) {
    return path.split('.').reduce((o, k) => (o && k in o ? o[k] : undefined), obj);
  }

  const KPI_FORMATS = {
    'revenue.today': fmt.usd,
    'revenue.hour': fmt.usd,
    'revenue.week': fmt.usd,
    'revenue.month': fmt.usd,
    leads_sold_today: fmt.int,
    conversion_rate: fmt.pct,
    avg_revenue_per_conversation: fmt.usd,
    revenue_per_hour: fmt.usd,
    earnings_per_lead: fmt.usd,
    sell_through_rate: fmt.pct,
    acceptance_rate: fmt.pct,
    return_rate: fmt.pct,
    active_conversations: fmt.int,
  };

  function renderKpis(d) {
    for (const tile of document.querySelectorAll('[data-kpi]')) {
      const key = tile.dataset.kpi;
      const value = get(d, key);
      const out = tile.querySelector('.kpi-value');
      out.textContent = (KPI_FORMATS[key] || String)(value);
      out.dataset.value = typeof value === 'number' ? String(value) : '';
    }
    const note = document.querySelector('[data-note="revenue.today"]');
    if (note) {
      const count = (n, one, many) => `${fmt.int(n)} ${n === 1 ? one : many}`;
      note.textContent = `${count(d.leads_sold_today, 'lead', 'leads')} sold · ${count(d.conversations_today, 'chat', 'chats')} · ${fmt.int(d.qualified_leads_today)} qualified`;
    }
  }

  function renderAlerts(alerts, recommendations) {
    const box = $('alerts');
    box.replaceChildren(
      ...(alerts || []).map((a) =>
        el('div', { class: `alert alert-${a.severity || 'info'}`, dataset: { kind: a.kind } },
          el('span', { class: 'alert-kind' }, a.severity === 'good' ? 'good news' : (a.severity || 'info')),
          el('span', { class: 'alert-msg' }, a.message || a.kind),
          figures(a.figure, a.target, a.kind)),
      ),
    );
    $('alerts-wrap').hidden = !(alerts || []).length && !(recommendations || []).length;
    const recs = $('recommendations');
    recs.replaceChildren(
      ...(recommendations || []).map((r) =>
        el('div', { class: 'alert alert-info', dataset: { kind: r.kind } },
          el('span', { class: 'alert-kind' }, (r.priority || '') + ' · tip'),
          el('span', { class: 'alert-msg' }, r.message || r.kind),
          figures(r.figure, r.target, r.metric)),
      ),
    );
  }

  function figures(figure, target, kind) {
    if (typeof figure !== 'number') return null;
    const asMoney = /value|revenue|price|spend|per_hour|usd/.test(kind || '');
    const f = asMoney ? fmt.usd : figure <= 1 && (typeof target !== 'number' || target <= 1) ? fmt.pct : fmt.int;
    return el('span', { class: 'alert-figs' }, `now ${f(figure)}` + (typeof target === 'number' ? ` · target ${f(target)}` : ''));
  }

  // Days as uPlot x values: noon UTC of the date, shown in UTC so the label is the date.
  const dayTs = (date) => Date.parse(date + 'T12:00:00Z') / 1000;
  const utcDate = (ts) => uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC');

  const charts = {};

  function chartWidth(id) {
    return Math.max(280, $(id).clientWidth);
  }

  function upsertChart(name, id, makeOpts, data) {
    const width = chartWidth(id);
    const existing = charts[name];
    if (existing && existing.width === width && existing.series === data.length) {
      existing.plot.setData(data);
      return;
    }
    if (existing) existing.plot.destroy();
    $(id).replaceChildren();
    const plot = new uPlot(makeOpts(width), data, $(id));
    charts[name] = { plot, width, series: data.length };
  }

  function dropChart(name, id) {
    if (charts[name]) {
      charts[name].plot.destroy();
      delete charts[name];
    }
    $(id).replaceChildren();
  }

  const axisStyle = { stroke: '#667085', grid: { stroke: '#eef1f5', width: 1 }, ticks: { stroke: '#e4e8ef', width: 1 } };

  function renderTrend(trend) {
    if (!trend || !trend.some((p) => p.revenue !== 0 || p.leads_sold > 0)) {
      dropChart('trend', 'trend-chart');
      panelMessage('trend-card', 'No revenue in the last 30 days yet.');
      return;
    }
    panelMessage('trend-card', '');
    const data = [trend.map((p) => dayTs(p.date)), trend.map((p) => p.revenue), trend.map((p) => p.leads_sold)];
    upsertChart('trend', 'trend-chart', (width) => ({
      width,
      height: 260,
      tzDate: utcDate,
      legend: { show: false },
      cursor: { points: { show: false } },
      scales: { x: { time: true }, usd: { range: (u, min, max) => [Math.min(0, min) * 1.1, Math.max(100, max) * 1.1] }, n: { range: (u, min, max) => [0, Math.max(1, max) * 1.25] } },
      series: [
        { value: '{YYYY}-{MM}-{DD}' },
        { label: 'Revenue', scale: 'usd', fill: 'rgba(217,154,30,0.75)', stroke: 'rgba(217,154,30,1)', width: 0, paths: uPlot.paths.bars({ size: [0.7, 40] }), value: (u, v) => fmt.usd(v) },
        { label: 'Leads sold', scale: 'n', stroke: '#2f6fed', width: 2, points: { show: false } },
      ],
      axes: [
        { ...axisStyle, values: '{MMM} {D}' },
        { ...axisStyle, scale: 'usd', size: 64, values: (u, vals) => vals.map((v) => usdShort.format(v)) },
        { ...axisStyle, scale: 'n', side: 1, grid: { show: false }, size: 40 },
      ],
    }), data);
  }

  function renderForecast(f) {
    const meta = $('forecast-meta');
    const foot = $('forecast-foot');
    if (!f || f.status !== 'ok' || !f.points || f.points.length === 0) {
      dropChart('forecast', 'forecast-chart');
      meta.textContent = f ? f.model || '' : '';
      foot.replaceChildren();
      const have = f ? f.history_days : 0;
      const need = f ? f.min_history_days : 14;
      panelMessage('forecast-card', `Not enough history to forecast yet: ${have} of ${need} days. The forecast appears after two full weeks of sales.`);
      $('forecast-card').dataset.status = f ? f.status : 'unknown';
      return;
    }
    $('forecast-card').dataset.status = 'ok';
    panelMessage('forecast-card', '');
    const history = (f.history || []).slice(-21);
    const points = f.points;
    const xs = history.map((h) => dayTs(h.date)).concat(points.map((p) => dayTs(p.date)));
    const actual = history.map((h) => h.revenue).concat(points.map(() => null));
    const lastActual = history.length ? history[history.length - 1].revenue : null;
    const predicted = history.map((h, i) => (i === history.length - 1 ? lastActual : null)).concat(points.map((p) => p.revenue));
    const lower = history.map((h, i) => (i === history.length - 1 ? lastActual : null)).concat(points.map((p) => p.lower));
    const upper = history.map((h, i) => (i === history.length - 1 ? lastActual : null)).concat(points.map((p) => p.upper));
    const level = Math.round((f.level || 0.8) * 100);
    meta.textContent = `${f.model} · ${level}% interval`;
    upsertChart('forecast', 'forecast-chart', (width) => ({
      width,
      height: 260,
      tzDate: utcDate,
      legend: { show: false },
      cursor: { points: { show: false } },
      scales: { x: { time: true }, y: { range: (u, min, max) => [Math.min(0, min) * 1.1, Math.max(100, max) * 1.1] } },
      bands: [{ series: [4, 3], fill: 'rgba(47,111,237,0.13)' }],
      series: [
        { value: '{YYYY}-{MM}-{DD}' },
        { label: 'Revenue', stroke: '#d99a1e', width: 2, points: { show: true, size: 4 } },
        { label: 'Forecast', stroke: '#2f6fed', width: 2, dash: [6, 4], points: { show: true, size: 4 } },
        { label: 'Lower', stroke: 'rgba(47,111,237,0.35)', width: 1 },
        { label: 'Upper', stroke: 'rgba(47,111,237,0.35)', width: 1 },
      ],
      axes: [
        { ...axisStyle, values: '{MMM} {D}' },
        { ...axisStyle, size: 64, values: (u, vals) => vals.map((v) => usdShort.format(v)) },
      ],
    }), [xs, actual, predicted, lower, upper]);
    const total = points.reduce((s, p) => s + p.revenue, 0);
    const lo = points.reduce((s, p) => s + p.lower, 0);
    const hi = points.reduce((s, p) => s + p.upper, 0);
    const parts = [
      el('span', { dataset: { testid: 'forecast-total' } }, 'Next 7 days ', el('b', {}, fmt.usd(total)), ` (daily ranges add up to ${fmt.usd(lo)}–${fmt.usd(hi)})`),
    ];
    if (f.backtest) {
      const b = f.backtest;
      parts.push(el('span', { title: 'Mean absolute scaled error against "same weekday last week": below 1 beats it' }, 'MASE ', el('b', {}, typeof b.mase === 'number' ? b.mase.toFixed(2) : 'n/a')));
      parts.push(el('span', { title: 'Share of backtest days inside the interval' }, `${level}% interval held `, el('b', {}, fmt.pct(b.coverage)), ` over ${b.folds} backtest ${b.folds === 1 ? 'fold' : 'folds'}`));
    } else {
      parts.push(el('span', { dataset: { testid: 'backtest-pending' } }, `Accuracy is measured once there are ${f.min_history_days + f.horizon} days of history`));
    }
    parts.push(el('span', {}, `${f.history_days} days of history`));
    foot.replaceChildren(...parts);
  }

  function renderHeatmap(cells) {
    const table = $('heatmap');
    const byKey = new Map();
    let max = 0;
    for (const c of cells || []) {
      byKey.set(`${c.weekday}-${c.hour}`, c);
      if (c.revenue > max) max = c.revenue;
    }
    const head = el('tr', {}, el('th', { class: 'day' }, ''),
      ...Array.from({ length: 24 }, (_, h) => el('th', {}, h % 3 === 0 ? hourLabel(h) : '')));
    const rows = WEEKDAYS.map((day) =>
      el('tr', {}, el('th', { class: 'day' }, WEEKDAY_NAMES[day]),
        ...Array.from({ length: 24 }, (_, h) => {
          const c = byKey.get(`${day}-${h}`);
          const revenue = c ? c.revenue : 0;
          const level = max > 0 && revenue > 0 ? Math.min(5, Math.max(1, Math.ceil((revenue / max) * 5))) : 0;
          const tip = `${WEEKDAY_NAMES[day]} ${hourLabel(h)}–${hourLabel((h + 1) % 24)}: ${fmt.usd(revenue)}, ${c ? c.leads_sold : 0} leads`;
          return el('td', { class: `heat-${level}`, title: tip, dataset: { weekday: day, hour: h, revenue } });
        })));
    table.replaceChildren(el('thead', {}, head), el('tbody', {}, ...rows));
    const card = $('heatmap-card');
    let scale = card.querySelector('.heat-scale');
    if (!scale) {
      scale = el('div', { class: 'heat-scale' }, 'less', ...[0, 1, 2, 3, 4, 5].map((l) => el('i', { class: `heat-${l}` })), 'more');
      card.querySelector('.heatmap-wrap').after(scale);
    }
    panelMessage('heatmap-card', max > 0 ? '' : 'No sales in the last 28 days yet.');
  }

  function hourLabel(h) {
    if (h === 0) return '12a';
    if (h === 12) return '12p';
    return h < 12 ? `${h}a` : `${h - 12}p`;
  }

  function barRow(label, value, share, fillClass, dataset) {
    const fill = el('div', { class: `bar-fill ${fillClass || ''}` });
    fill.style.width = `${Math.max(0, Math.min(1, share)) * 100}%`;
    return el('div', { class: 'bar-row', dataset }, el('span', { class: 'bar-label', title: label }, label), el('div', { class: 'bar-track' }, fill), el('span', { class: 'bar-val' }, value));
  }

  function renderTiers(dist) {
    const counts = TIERS.map((t) => (dist && typeof dist[t] === 'number' ? dist[t] : 0));
    const total = counts.reduce((a, b) => a + b, 0);
    $('tiers').replaceChildren(...TIERS.map((t, i) =>
      barRow(t[0].toUpperCase() + t.slice(1), `${fmt.int(counts[i])} · ${total ? fmt.pct(counts[i] / total) : '–'}`, total ? counts[i] / total : 0, `t-${t}`, { tier: t, count: counts[i] })));
    panelMessage('tiers-card', total ? '' : 'No chats scored this month yet.');
  }

  function renderTopBuyers(top) {
    const list = top || [];
    const max = list.reduce((m, b) => Math.max(m, b.revenue), 0);
    $('top-buyers').replaceChildren(...list.map((b) =>
      barRow(b.name || b.buyer_id, `${fmt.usd(b.revenue)} · ${fmt.int(b.leads)}`, max ? b.revenue / max : 0, '', { buyer: b.buyer_id })));
    panelMessage('top-card', list.length ? '' : 'No buyer has bought a lead this month yet.');
  }

  let selectedLead = null;

  function renderRecentSales(sales) {
    const body = $('recent-sales');
    const list = sales || [];
    if (list.length === 0) {
      body.replaceChildren(el('tr', { class: 'empty-row' }, el('td', { colspan: 4 }, 'No sales yet.')));
      return;
    }
    body.replaceChildren(...list.map((s) => {
      const row = el('tr', { class: 'clickable' + (s.lead_id === selectedLead ? ' selected' : ''), tabindex: 0, dataset: { lead: s.lead_id } },
        el('td', {}, fmt.time(s.at)),
        el('td', { class: 'lead-id' }, s.lead_id),
        el('td', {}, s.buyer_id),
        el('td', { class: 'num' + (s.status && s.status !== 'standing' ? ' undone' : ''), dataset: { value: s.price, status: s.status || 'standing' } },
          fmt.usd(s.price),
          s.status && s.status !== 'standing' ? el('span', { class: 'sale-status' }, s.status) : null));
      row.addEventListener('click', () => openLead(s.lead_id));
      row.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          openLead(s.lead_id);
        }
      });
      return row;
    }));
  }

  function meter(value) {
    if (typeof value !== 'number') return el('span', { class: 'muted' }, 'no cap');
    const fill = el('div', { class: 'bar-fill' + (value >= 0.9 ? ' hot' : '') });
    fill.style.width = `${Math.max(0, Math.min(1, value)) * 100}%`;
    return el('span', { class: 'meter' }, el('div', { class: 'bar-track' }, fill), fmt.pct(value));
  }

  function renderBuyers(b) {
    const body = $('buyers');
    const list = (b && b.buyers) || [];
    $('buyers-month').textContent = b && b.month ? `month ${b.month}` : '';
    if (list.length === 0) {
      body.replaceChildren(el('tr', { class: 'empty-row' }, el('td', { colspan: 10 }, 'No buyers configured.')));
      return;
    }
    body.replaceChildren(...list.map((x) => el('tr', { dataset: { buyer: x.buyer_id } },
      el('td', { dataset: { field: 'name' } }, x.name || x.buyer_id),
      el('td', {}, el('span', { class: `tag tag-${x.tier}` }, x.tier), x.active === false ? el('span', { class: 'tag tag-off' }, 'paused') : null),
      el('td', { class: 'num', dataset: { field: 'leads_sold', value: x.leads_sold } }, fmt.int(x.leads_sold)),
      el('td', { class: 'num', dataset: { field: 'revenue', value: x.revenue } }, fmt.usd(x.revenue)),
      el('td', { class: 'num', dataset: { field: 'acceptance_rate' } }, fmt.pct(x.acceptance_rate)),
      el('td', { class: 'num', dataset: { field: 'conversion_rate' } }, fmt.pct(x.conversion_rate)),
      el('td', { class: 'num', dataset: { field: 'return_rate' } }, fmt.pct(x.return_rate)),
      el('td', {}, meter(x.daily_utilisation)),
      el('td', {}, meter(x.monthly_spend_utilisation)),
      el('td', { class: 'muted' }, (x.top_rejection_reasons || []).map((r) => `${r.reason.replace(/_/g, ' ')} (${r.count})`).join(', ') || '–'),
    )));
  }

  // ---- a lead's routing ----------------------------------------------------------------

  async function openLead(leadId) {
    selectedLead = leadId;
    for (const row of document.querySelectorAll('#recent-sales tr')) row.classList.toggle('selected', row.dataset.lead === leadId);
    const drawer = $('drawer');
    drawer.hidden = false;
    drawer.dataset.lead = leadId;
    $('drawer-title').textContent = 'Lead ' + leadId;
    const body = $('drawer-body');
    body.replaceChildren(el('p', { class: 'muted' }, 'Loading…'));
    try {
      const lead = await api('/api/v1/leads/' + encodeURIComponent(leadId));
      if (drawer.dataset.lead !== leadId) return;
      body.replaceChildren(...leadView(lead));
      drawer.dataset.loaded = leadId;
    } catch (e) {
      body.replaceChildren(el('p', { class: 'panel-msg error', dataset: { testid: 'lead-error' } }, `Could not load this lead: ${e.message} (${e.status || 'network'}).`));
    }
  }

  function leadView(lead) {
    const sale = lead.sale;
    const facts = el('dl', { class: 'facts', dataset: { testid: 'lead-facts' } },
      el('dt', {}, 'Status'), el('dd', { dataset: { field: 'status' } }, lead.status),
      el('dt', {}, 'Score'), el('dd', {}, lead.score ?? '–', lead.tier ? ` · ${lead.tier}` : ''),
      el('dt', {}, 'Queued'), el('dd', {}, fmt.time(lead.queued_at)),
      ...(sale ? [
        el('dt', {}, 'Buyer'), el('dd', { dataset: { field: 'buyer' } }, `${sale.buyer_id} (${sale.buyer_tier})`),
        el('dt', {}, 'Price'), el('dd', { dataset: { field: 'price' } }, fmt.usd(sale.price), el('span', { class: 'muted' }, ` · expected ${fmt.usd(sale.expected_revenue)}`)),
        el('dt', {}, 'Sold'), el('dd', {}, fmt.time(sale.sold_at), el('span', { class: 'muted' }, ` · returnable until ${fmt.time(sale.returnable_until)}`)),
        el('dt', {}, 'Pricing'), el('dd', {}, pricingText(sale.pricing)),
      ] : []),
      el('dt', {}, 'Ledger net'), el('dd', { dataset: { field: 'ledger_net' } }, fmt.usd(lead.ledger_net)),
    );
    const parts = [facts];
    const r = lead.routing;
    if (r) {
      parts.push(el('div', {},
        el('h3', {}, `Routing · ${r.strategy.replace('_', ' ')}`),
        el('p', { class: 'muted', dataset: { testid: 'routing-reason' } }, r.reason || ''),
        el('div', { class: 'table-wrap' }, el('table', { class: 'table trace', dataset: { testid: 'routing-trace' } },
          el('thead', {}, el('tr', {}, el('th', {}, 'Buyer'), el('th', {}, 'Eligible'), el('th', { class: 'num' }, 'Price'), el('th', { class: 'num' }, 'P(accept)'), el('th', { class: 'num' }, 'Expected'))),
          el('tbody', {}, ...r.trace.map((t) => el('tr', { class: t.chosen ? 'chosen' : '', dataset: { buyer: t.buyer_id } },
            el('td', {}, t.buyer_id, t.chosen ? ' ✓' : ''),
            el('td', { class: t.eligible ? '' : 'excluded' }, t.eligible ? 'yes' : (t.excluded_by || 'no').replace(/_/g, ' ')),
            el('td', { class: 'num' }, t.price == null ? '–' : fmt.usd(t.price)),
            el('td', { class: 'num' }, t.p_accept == null ? '–' : fmt.pct(t.p_accept)),
            el('td', { class: 'num' }, t.expected_revenue == null ? '–' : fmt.usd(t.expected_revenue)))))))));
    } else {
      parts.push(el('p', { class: 'muted' }, 'Not routed yet.'));
    }
    if (lead.history && lead.history.length) {
      parts.push(el('div', {}, el('h3', {}, 'History'), el('ol', { class: 'history' },
        ...lead.history.map((h) => el('li', {}, el('b', {}, h.status), ` · ${fmt.time(h.at)}`, h.note ? el('span', { class: 'muted' }, ` · ${h.note}`) : null)))));
    }
    return parts;
  }

  function pricingText(p) {
    if (!p) return '–';
    const x = (bps) => `×${(bps / 10000).toFixed(2)}`;
    let text = `${fmt.usd(p.base)} base ${x(p.quality_bps)} quality ${x(p.surge_bps)} surge ${x(p.time_of_day_bps)} time ${x(p.day_of_week_bps)} day ${x(p.market_bps)} market`;
    if (p.clamped_to) text += ` → ${p.clamped_to}`;
    return text;
  }

  $('drawer-close').addEventListener('click', () => {
    $('drawer').hidden = true;
    selectedLead = null;
    for (const row of document.querySelectorAll('#recent-sales tr.selected')) row.classList.remove('selected');
  });
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && !$('drawer').hidden) $('drawer-close').click();
  });

  // ---- refresh -------------------------------------------------------------------------

  function isEmpty(d) {
    const month = d.revenue ? d.revenue.month : 0;
    const trend = (d.revenue_trend || []).some((p) => p.revenue !== 0 || p.leads_sold > 0);
    return !month && !trend && (d.recent_sales || []).length === 0;
  }

  const PANELS_OF = {
    dashboard: ['trend-card', 'heatmap-card', 'tiers-card', 'top-card', 'sales-card'],
    forecast: ['forecast-card'],
    buyers: ['buyers-card'],
    recommendations: [],
  };

  let timer = null;
  let running = false;
  const received = {};

  async function refresh() {
    if (running) return;
    running = true;
    clearTimeout(timer);
    const names = Object.keys(ENDPOINTS);
    const results = await Promise.allSettled(names.map((n) => api(ENDPOINTS[n])));
    const got = {};
    const failed = [];
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') got[names[i]] = r.value;
      else failed.push([names[i], r.reason]);
    });
    const unauthorised = failed.some(([, e]) => e.status === 401 || e.status === 403);
    $('signin').hidden = !unauthorised;

    if (got.dashboard) {
      const d = got.dashboard;
      renderKpis(d);
      renderTrend(d.revenue_trend);
      renderHeatmap(d.revenue_by_hour);
      renderTiers(d.tier_distribution);
      renderTopBuyers(d.top_buyers);
      renderRecentSales(d.recent_sales);
      $('empty').hidden = !isEmpty(d);
    }
    renderAlerts(got.dashboard ? got.dashboard.alert_details : [], got.recommendations ? got.recommendations.recommendations : []);
    if (got.forecast) renderForecast(got.forecast);
    if (got.buyers) renderBuyers(got.buyers);
    for (const name of Object.keys(got)) received[name] = true;
    for (const [name, e] of failed) {
      const stale = received[name] ? ' Showing the last figures received.' : '';
      for (const card of PANELS_OF[name]) panelMessage(card, `Could not load ${ENDPOINTS[name].split('?')[0]}: ${e.message} (${e.status || 'network'}).${stale}`, true);
    }

    const banner = $('banner');
    const status = $('status');
    if (failed.length) {
      banner.hidden = false;
      banner.className = 'banner banner-error';
      banner.textContent = `Some figures could not be loaded: ${failed.map(([n, e]) => `${ENDPOINTS[n].split('?')[0]} answered ${e.status || 'nothing'} ${e.code}`).join('; ')}. Retrying every ${REFRESH_MS / 1000} s.`;
      status.className = 'pill pill-bad';
      status.textContent = failed.length === names.length ? 'Offline' : 'Degraded';
    } else {
      banner.hidden = true;
      status.className = 'pill pill-ok';
      status.textContent = 'Live';
    }
    document.body.dataset.state = failed.length ? 'error' : 'ok';
    document.body.dataset.loads = String(Number(document.body.dataset.loads || 0) + 1);
    $('updated').textContent = 'Updated ' + clockFormat.format(new Date());
    running = false;
    timer = setTimeout(refresh, REFRESH_MS);
  }

  $('refresh').addEventListener('click', refresh);
  $('signin-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const token = $('token').value.trim();
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    $('token').value = '';
    refresh();
  });

  let resizeTimer = null;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      for (const [name, c] of Object.entries(charts)) {
        const id = name === 'trend' ? 'trend-chart' : 'forecast-chart';
        const width = chartWidth(id);
        if (width !== c.width) {
          c.plot.setSize({ width, height: 260 });
          c.width = width;
        }
      }
    }, 150);
  });

  refresh();
})();
