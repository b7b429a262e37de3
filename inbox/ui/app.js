// Switchboard inbox: plain JavaScript, no build step, no dependencies.
//
// Safety rule of this file: customer content only ever reaches the page as
// text (textContent, attribute values, option labels); no HTML-parsing DOM
// sink is used anywhere (a test checks). Email HTML is shown in a sandboxed <iframe> whose document the
// server sanitises and serves with a CSP of its own.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);

  // el builds an element: attrs may hold class, text, title, data-*, on*
  // handlers (functions) and other attributes; children are nodes or text.
  function el(tag, attrs, ...children) {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') n.className = v;
      else if (k === 'text') n.textContent = v;
      else if (k.startsWith('on') && typeof v === 'function') n.addEventListener(k.slice(2), v);
      else n.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children) {
      if (c === undefined || c === null || c === false) continue;
      n.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return n;
  }
  const clear = (n) => { while (n.firstChild) n.removeChild(n.firstChild); return n; };
  // setKey shows catalogue text key in n and keeps it there when the
  // language changes (i18n.js re-applies data-i18n).
  const setKey = (n, key) => { n.dataset.i18n = key; n.textContent = t(key); };

  // ---- channel icons (SVG built through the DOM) ---------------------------
  const SVGNS = 'http://www.w3.org/2000/svg';
  const ICONS = {
    email: 'M3 6h18v12H3z M3 6l9 7 9-7',
    sms: 'M4 5h16v11H9l-5 4z M8 10h8 M8 13h5',
    slack: 'M9 3v18 M15 3v18 M3 9h18 M3 15h18',
    webform: 'M5 3h14v18H5z M8 8h8 M8 12h8 M8 16h4',
    api: 'M8 7l-5 5 5 5 M16 7l5 5-5 5 M13 5l-2 14',
    plugin: 'M10 3h4v4h3v4h4v4h-4v3h-4v3h-4v-3H7v-4H3V7h4V3z',
  };
  // chanLabel names a channel type in the agent's language.
  const CHANNEL_TYPES = ['email', 'sms', 'slack', 'webform', 'api', 'plugin'];
  const chanLabel = (type) => (CHANNEL_TYPES.includes(type) ? t('channel.' + type) : type);
  function icon(type, title) {
    const s = document.createElementNS(SVGNS, 'svg');
    s.setAttribute('viewBox', '0 0 24 24');
    s.setAttribute('aria-hidden', 'true');
    const p = document.createElementNS(SVGNS, 'path');
    p.setAttribute('d', ICONS[type] || ICONS.plugin);
    s.append(p);
    return el('span', { class: 'chan chan-' + (ICONS[type] ? type : 'plugin'), title: title || chanLabel(type) }, s);
  }

  // ---- time -------------------------------------------------------------------
  // ago is the time since iso as a short duration in the agent's language
  // ("5m", "2h 3m" in English; "5 min", "2 t 3 min" in Finnish).
  const unit = (n, u) => sbFmt.number(n, { style: 'unit', unit: u, unitDisplay: 'narrow' });
  function ago(iso, now) {
    const at = Date.parse(iso);
    if (!at || at < 0) return '';
    const s = Math.max(0, Math.round(((now || Date.now()) - at) / 1000));
    if (s < 60) return unit(s, 'second');
    if (s < 3600) return unit(Math.floor(s / 60), 'minute');
    if (s < 86400) return unit(Math.floor(s / 3600), 'hour') + ' ' + unit(Math.floor((s % 3600) / 60), 'minute');
    return unit(Math.floor(s / 86400), 'day');
  }
  const when = (iso) => {
    const d = new Date(iso);
    return isNaN(d) ? '' : sbFmt.date(d, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
  };
  // statusLabel names a conversation or delivery status in the agent's language.
  const STATUSES = ['open', 'pending', 'snoozed', 'resolved', 'queued', 'sent', 'delivered', 'undelivered', 'failed'];
  const statusLabel = (st) => (STATUSES.includes(st) ? t('status.' + st) : st);

  // ---- API --------------------------------------------------------------------
  class APIError extends Error {
    constructor(status, code, message) { super(message); this.status = status; this.code = code; }
  }
  const S = {
    me: null, csrf: '', channels: [], byChannel: {},
    filter: { view: 'mine', team: '', channel: '', status: 'open' },
    list: [], next: '', sel: -1,
    conv: null, customer: null, custIDs: new Set(), entries: new Map(), tlNext: '', loadingOlder: false,
    presence: new Map(), heartbeat: null, typingSent: 0, mode: 'reply',
    es: null, listTimer: null, listSeq: 0, openGen: 0, now: Date.now(),
  };

  async function api(method, path, body, opts) {
    const init = { method, headers: {}, credentials: 'same-origin' };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    if (method !== 'GET' && method !== 'HEAD') init.headers['X-CSRF-Token'] = S.csrf;
    if (opts && opts.keepalive) init.keepalive = true;
    const r = await fetch(path, init);
    let data = null;
    if (r.status !== 204) data = await r.json().catch(() => null);
    if (r.status === 401 && S.me && !(method === 'POST' && path === '/api/v1/session')) {
      restart(t('session.ended'));
    }
    if (!r.ok) throw new APIError(r.status, data && data.error, (data && data.message) || r.statusText);
    return data;
  }

  let toastTimer = null;
  function toast(msg, bad) {
    const box = $('toast');
    box.textContent = msg;
    box.className = 'toast' + (bad ? ' bad' : '');
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { box.hidden = true; }, 5000);
  }
  const fail = (e) => toast(e.message || String(e), true);

  // ---- sign-in ------------------------------------------------------------------
  function showLogin(msg) {
    if (S.es) { S.es.close(); S.es = null; }
    stopPresence();
    $('app').hidden = true;
    $('login').hidden = false;
    $('login-error').textContent = msg || '';
    $('login-name').focus();
  }

  $('login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    $('login-error').textContent = '';
    try {
      const info = await api('POST', '/api/v1/session', { name: $('login-name').value.trim(), password: $('login-password').value });
      $('login-password').value = '';
      start(info);
    } catch (e) {
      $('login-error').textContent = e.message;
    }
  });

  $('logout').addEventListener('click', async () => {
    try { await leaveConversation(); await api('DELETE', '/api/v1/session'); } catch (e) { /* signed out anyway */ }
    restart(t('session.signedOut'));
  });

  // restart leaves the signed-in page for a fresh one (the sign-in form):
  // nothing of the previous agent (conversation, customer, timeline,
  // filters, listeners, stream) survives into the next sign-in.
  let restarting = false;
  function restart(msg) {
    if (restarting) return;
    restarting = true;
    if (S.es) { S.es.close(); S.es = null; }
    stopPresence();
    $('app').hidden = true;
    try {
      sessionStorage.clear();
      if (msg) sessionStorage.setItem('sb.msg', msg);
    } catch (e) { /* storage unavailable */ }
    location.replace('/');
  }

  async function boot() {
    let msg = '';
    try { msg = sessionStorage.getItem('sb.msg') || ''; sessionStorage.removeItem('sb.msg'); } catch (e) { /* storage unavailable */ }
    try {
      start(await api('GET', '/api/v1/session'));
    } catch (e) {
      showLogin(msg);
    }
  }

  async function start(info) {
    S.me = info;
    S.csrf = info.csrf_token || '';
    $('login').hidden = true;
    $('app').hidden = false;
    $('me').textContent = info.name + (info.role === 'admin' ? ' · ' + t('me.admin') : '');
    $('nav-admin').hidden = info.role !== 'admin';
    $('nav-reports').hidden = info.role !== 'admin' && !(info.leads && info.leads.length);
    await loadChannels();
    connectEvents();
    if (location.pathname === '/admin') {
      $('inbox-view').hidden = true;
      $('admin-view').hidden = false;
      $('nav-admin').classList.add('on');
      loadAdmin();
      setupWebhooksAdmin();
      setupAuditAdmin();
      return;
    }
    $('nav-inbox').classList.add('on');
    $('inbox-view').hidden = false;
    setupFilters();
    await loadList();
    $('conv-list').focus();
  }

  async function loadChannels() {
    const { channels } = await api('GET', '/api/v1/channels');
    S.channels = channels;
    S.byChannel = Object.fromEntries(channels.map((c) => [c.name, c]));
  }

  // ---- live updates -----------------------------------------------------------------
  // The stream is opened with a single-use ticket (EventSource cannot send
  // headers, and tokens stay out of URLs): each connection asks for a new
  // one, so the browser's own retry with a used ticket is refused and
  // onerror below reconnects with a fresh ticket.
  function connectEvents(reread) {
    if (S.es) S.es.close();
    const pending = { close() {} }; // stands for the stream until it opens
    S.es = pending;
    api('POST', '/api/v1/events/tickets').then(({ ticket }) => {
      if (S.es === pending) openEvents(ticket, reread);
    }, (e) => {
      setConn('down');
      if (e.status !== 401) setTimeout(() => { if (S.es === pending) connectEvents(reread); }, 5000);
    });
  }

  // setConn shows the state of the live stream (data-i18n keeps it right
  // when the language changes).
  function setConn(state) {
    const c = $('conn');
    c.dataset.i18n = state === 'live' ? 'conn.live' : 'conn.reconnecting';
    c.textContent = t(c.dataset.i18n);
    c.className = 'conn ' + state;
  }

  function openEvents(ticket, reread) {
    const es = new EventSource('/api/v1/events?ticket=' + encodeURIComponent(ticket));
    S.es = es;
    let wasOpen = !!reread;
    es.onopen = () => {
      setConn('live');
      if (wasOpen) { // events may have been missed: re-read what is shown
        refreshList();
        if (S.conv) loadNewEntries();
      }
      wasOpen = true;
    };
    es.onerror = () => {
      setConn('down');
      if (es.readyState !== EventSource.CLOSED) return; // the browser retries by itself
      // The browser gave up: the hub refused the stream, most likely because
      // the session ended (log out elsewhere, expiry). Ask: a 401 leads to
      // the sign-in form (api → restart); otherwise reconnect, later if the
      // hub cannot answer yet.
      const recheck = () => {
        if (S.es !== es) return;
        api('GET', '/api/v1/session').then(() => { if (S.es === es) connectEvents(true); },
          (e) => { if (e.status !== 401 && S.es === es) setTimeout(recheck, 5000); });
      };
      recheck();
    };
    const on = (type, f) => es.addEventListener(type, (m) => {
      let d;
      try { d = JSON.parse(m.data); } catch (e) { return; }
      f(d);
    });
    on('entry.created', (d) => {
      scheduleListRefresh();
      if (S.customer && S.custIDs.has(d.customer_id)) loadNewEntries();
      // A reply or a message also moves the conversation's status (open ↔ pending).
      if (S.conv && d.conversation_id === S.conv.id) reloadConversation();
    });
    on('entry.updated', (d) => {
      const e = S.entries.get(d.entry_id);
      if (e) {
        if (statusRank(d.status) < statusRank(e.status)) return;
        e.status = d.status;
        e.status_detail = d.detail || '';
        renderEntry(e);
      } else if (S.customer && S.custIDs.has(d.customer_id)) {
        loadNewEntries();
      }
    });
    const convChanged = (d) => {
      scheduleListRefresh();
      if (S.conv && d.conversation_id === S.conv.id) reloadConversation();
    };
    on('conversation.opened', convChanged);
    on('conversation.updated', convChanged);
    on('channel.phase', () => { loadChannels().then(() => { if (!$('admin-view').hidden) loadAdmin(); }); });
    on('presence', onPresence);
  }

  // ---- the inbox list ---------------------------------------------------------------
  function setupFilters() {
    const seg = $('f-view');
    const teams = S.me.role === 'admin' ? S.me.all_teams : S.me.teams;
    if (!teams.length) seg.querySelector('[data-view=team]').hidden = true;
    S.filter.team = teams[0] || '';
    const ft = clear($('f-team'));
    for (const tm of teams) ft.append(el('option', { value: tm, text: tm }));
    const fc = $('f-channel');
    for (const c of S.channels) fc.append(el('option', { value: c.name, 'data-type': c.type, text: c.name + ' (' + chanLabel(c.type) + ')' }));
    // The view with work in it (issue 19): Unassigned for agents, All for
    // admins, unless the agent chose one before (remembered per agent).
    const viewKey = 'sb.view.' + S.me.name;
    let chosen = null;
    try { chosen = localStorage.getItem(viewKey); } catch (e) { /* storage unavailable */ }
    S.filter.view = chosen || (S.me.role === 'admin' ? 'all' : 'unassigned');
    const saved = (() => { try { return JSON.parse(sessionStorage.getItem('sb.filter') || 'null'); } catch (e) { return null; } })();
    if (saved) Object.assign(S.filter, saved);
    const sync = () => {
      for (const b of seg.querySelectorAll('button')) b.classList.toggle('on', b.dataset.view === S.filter.view);
      ft.hidden = S.filter.view !== 'team';
      ft.value = S.filter.team;
      fc.value = S.filter.channel;
      $('f-status').value = S.filter.status;
      $('f-sort').value = S.filter.sort || '';
      $('f-priority').value = S.filter.priority || '';
      sessionStorage.setItem('sb.filter', JSON.stringify(S.filter));
    };
    seg.addEventListener('click', (ev) => {
      const b = ev.target.closest('button');
      if (!b) return;
      S.filter.view = b.dataset.view;
      try { localStorage.setItem(viewKey, S.filter.view); } catch (e) { /* storage unavailable */ }
      sync();
      loadList();
    });
    ft.addEventListener('change', () => { S.filter.team = ft.value; sync(); loadList(); });
    fc.addEventListener('change', () => { S.filter.channel = fc.value; sync(); loadList(); });
    $('f-status').addEventListener('change', () => { S.filter.status = $('f-status').value; sync(); loadList(); });
    $('f-sort').addEventListener('change', () => { S.filter.sort = $('f-sort').value; sync(); loadList(); });
    $('f-priority').addEventListener('change', () => { S.filter.priority = $('f-priority').value; sync(); loadList(); });
    $('more').addEventListener('click', () => loadList(true));
    sync();
  }

  function listQuery(before, view) {
    const q = new URLSearchParams();
    const f = Object.assign({}, S.filter, view ? { view } : {});
    if (f.view === 'mine') q.set('assignee', 'me');
    if (f.view === 'unassigned') q.set('assignee', '-');
    if (f.view === 'team' && f.team) q.set('team', f.team);
    if (f.channel) q.set('channel', f.channel);
    if (f.status) q.set('status', f.status);
    if (f.sort) q.set('sort', f.sort);
    if (f.priority) q.set('priority', f.priority);
    if (before) q.set('before', before);
    q.set('limit', '50');
    return '/api/v1/inbox?' + q.toString();
  }

  async function loadList(more) {
    const seq = ++S.listSeq;
    try {
      const r = await api('GET', listQuery(more ? S.next : ''));
      if (seq !== S.listSeq) return; // a later load (filters changed, a refresh) answers instead
      S.now = Date.parse(r.now) || Date.now();
      const selID = S.list[S.sel] && S.list[S.sel].id;
      S.list = more ? S.list.concat(r.conversations) : r.conversations;
      S.next = r.next;
      S.sel = Math.max(0, S.list.findIndex((c) => c.id === (selID || (S.conv && S.conv.id))));
      if (!S.list.length) S.sel = -1;
      renderList();
      if (!S.list.length) explainEmpty(seq);
    } catch (e) { fail(e); }
  }

  // explainEmpty says why the view is empty (issue 19): where the work
  // with the same filters is instead.
  async function explainEmpty(seq) {
    const p = $('list-empty');
    const view = S.filter.view;
    const other = view === 'unassigned' ? 'mine' : view === 'mine' ? 'unassigned' : '';
    let text = view === 'unassigned' ? t('list.emptyUnassigned') : view === 'mine' ? t('list.emptyMine') : t('list.emptyFilters');
    if (other) {
      try {
        const r = await api('GET', listQuery('', other));
        if (seq !== S.listSeq) return;
        const n = r.conversations.length + (r.next ? '+' : '');
        if (r.conversations.length) {
          const key = 'list.elsewhere.' + other + (n === 1 ? '.one' : '');
          text += '; ' + t(key, { n });
        } else {
          text += '; ' + t('list.elsewhere.none');
        }
      } catch (e) { /* the plain reason stands */ }
    }
    if (seq === S.listSeq) p.textContent = text;
  }
  const refreshList = () => loadList(false);
  // scheduleListRefresh refreshes the list at most every 250 ms however
  // many events arrive: a pending refresh is never pushed back (events
  // more often than every 250 ms would otherwise starve it).
  function scheduleListRefresh() {
    if (S.listTimer) return;
    S.listTimer = setTimeout(() => { S.listTimer = null; refreshList(); }, 250);
  }

  function waiting(c) {
    // The customer is waiting when their message is the latest activity.
    const inb = Date.parse(c.last_inbound_at);
    const last = Date.parse(c.last_activity);
    if ((c.status === 'open' || c.status === 'pending') && inb && inb > 0 && inb >= last - 1000) {
      return t('list.waiting', { d: ago(c.last_inbound_at, S.now) });
    }
    return '';
  }

  // slaBadge: the SLA due time of a conversation (issue 17), overdue or
  // missed targets marked as a breach.
  function slaBadge(c) {
    const s = c.sla;
    if (!s) return null;
    const due = Date.parse(s.due);
    const missed = (s.breached || []).length > 0;
    if (due > 0) {
      const over = due <= S.now;
      const text = over ? t('sla.overdue', { d: ago(s.due, S.now) }) : t('sla.dueIn', { d: ago(new Date(S.now).toISOString(), due) });
      return el('span', { class: 'sla' + (over || missed ? ' sla-breach' : ''), text, title: t('sla.title', { policy: s.policy, due: when(s.due) }) + (missed ? '; ' + t('sla.missedList', { list: s.breached.join(', ') }) : '') });
    }
    if (missed) return el('span', { class: 'sla sla-breach', text: t('sla.missed'), title: t('sla.missedList', { list: s.breached.join(', ') }) });
    return null;
  }

  // priorityBadge: a conversation's priority (issue 24), the word itself
  // (not only a colour); high and urgent stand out.
  function priorityBadge(c) {
    if (!c.priority) return null;
    return el('span', { class: 'prio prio-' + c.priority, text: t('prio.' + c.priority), title: t('prio.title', { p: t('prio.' + c.priority) }) });
  }

  function renderList() {
    const ol = clear($('conv-list'));
    S.list.forEach((c, i) => {
      const name = c.customer.name || c.customer.identity || t('cust.unknown');
      const ch = S.byChannel[c.channel];
      const wait = waiting(c);
      const li = el('li', {
        // One selection (issue 19): the open conversation is the selected
        // row; the keyboard cursor (.sel) is only a focus ring on it or on
        // the row Enter would open.
        class: 'item' + (i === S.sel ? ' sel' : '') + (S.conv && S.conv.id === c.id ? ' open' : ''),
        id: 'conv-item-' + i,
        'data-id': c.id, role: 'option', 'aria-selected': S.conv && S.conv.id === c.id ? 'true' : 'false',
        onclick: () => { S.sel = i; openConversation(c.id); },
      },
      icon(c.channel_type || (ch && ch.type), c.channel + ' · ' + chanLabel(c.channel_type || '')),
      el('div', { class: 'item-main' },
        el('div', { class: 'item-top' },
          el('span', { class: 'who', text: name }),
          priorityBadge(c),
          el('span', { class: 'ago muted', text: ago(c.last_activity, S.now), title: when(c.last_activity) })),
        el('div', { class: 'preview', text: c.preview || c.subject || '' }),
        el('div', { class: 'item-meta' },
          el('span', { class: 'pill st-' + c.status, text: statusLabel(c.status) }),
          c.assignee ? el('span', { class: 'assignee', text: '@' + c.assignee }) : el('span', { class: 'assignee muted', text: t('list.unassigned') }),
          wait ? el('span', { class: 'wait', text: wait }) : null,
          slaBadge(c))));
      ol.append(li);
    });
    markActive();
    $('list-empty').hidden = S.list.length > 0;
    $('more').hidden = !S.next;
  }

  function moveSel(d) {
    if (!S.list.length) return;
    S.sel = Math.min(S.list.length - 1, Math.max(0, S.sel + d));
    const items = $('conv-list').children;
    for (let i = 0; i < items.length; i++) items[i].classList.toggle('sel', i === S.sel);
    if (items[S.sel]) items[S.sel].scrollIntoView({ block: 'nearest' });
    markActive();
  }
  // markActive tells assistive technology which row the keyboard is on.
  function markActive() {
    const ol = $('conv-list');
    if (S.sel >= 0 && ol.children[S.sel]) ol.setAttribute('aria-activedescendant', ol.children[S.sel].id);
    else ol.removeAttribute('aria-activedescendant');
  }

  document.addEventListener('keydown', (ev) => {
    if ($('app').hidden || $('inbox-view').hidden) return;
    const tg = ev.target;
    if (tg && tg.closest && tg.closest('dialog, [role="dialog"]')) return; // a dialog's keys are its own (Escape closes it)
    const typing = tg && (tg.tagName === 'INPUT' || tg.tagName === 'TEXTAREA' || tg.tagName === 'SELECT');
    if (ev.key === 'Escape') { if (typing) tg.blur(); backToList(); return; }
    if (typing || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (ev.key === 'j' || ev.key === 'ArrowDown') { moveSel(1); ev.preventDefault(); }
    else if (ev.key === 'k' || ev.key === 'ArrowUp') { moveSel(-1); ev.preventDefault(); }
    // Enter opens the cursor's row only from the list (or the page): on a
    // focused button or search result it is that element's own.
    else if (ev.key === 'Enter' && S.list[S.sel] && (tg === document.body || tg.closest('#conv-list'))) { openConversation(S.list[S.sel].id); ev.preventDefault(); }
    else if (ev.key === 'r' && S.conv) { $('reply-text').focus(); ev.preventDefault(); }
  });

  // ---- one conversation ------------------------------------------------------------
  // openConversation shows conversation id. Opening another one before it
  // is done supersedes it: every step checks its generation and a
  // superseded one stops, so a slow answer never puts back the
  // conversation (or customer) the agent has left.
  // search.js opens a result with this event.
  document.addEventListener('sb-open-conversation', (ev) => openConversation(ev.detail));
  async function openConversation(id) {
    const gen = ++S.openGen;
    const stale = () => gen !== S.openGen;
    if (S.conv && S.conv.id !== id) await leaveConversation();
    if (stale()) return;
    try {
      const conv = await api('GET', '/api/v1/conversations/' + encodeURIComponent(id));
      if (stale()) return;
      const fresh = !S.conv || S.conv.id !== id;
      if (!fresh && (conv.version || 0) < (S.conv.version || 0)) return;
      if (fresh) {
        S.customer = null; S.custIDs = new Set(); S.entries.clear();
        clear($('tl-entries'));
        $('cust').hidden = true;
        closeMove();
      }
      S.conv = conv;
      const items = [...$('conv-list').children];
      for (const li of items) {
        li.classList.toggle('open', li.dataset.id === id);
        li.setAttribute('aria-selected', li.dataset.id === id ? 'true' : 'false');
      }
      const at = items.findIndex((li) => li.dataset.id === id);
      if (at >= 0) { S.sel = at; for (const li of items) li.classList.toggle('sel', li === items[at]); }
      $('conv-empty').hidden = true;
      $('conv').hidden = false;
      $('inbox-view').classList.add('has-conv'); // narrow screens show the conversation instead of the list
      renderConvHead();
      document.dispatchEvent(new CustomEvent('sb-conversation-shown', { detail: conv })); // labels.js
      if (fresh) {
        $('composer-error').textContent = '';
        setMode('reply');
        S.presence.clear();
        renderPresence();
        if (!await loadCustomer(conv.customer_id, gen)) return;
        await loadTimeline();
        if (stale()) return;
        startPresence();
      }
    } catch (e) { if (!stale()) fail(e); }
  }

  // showConv takes a conversation from an answer unless it is another
  // conversation than the one shown, or older than what is shown (answers
  // and events race: a slow re-read must not undo a newer change).
  function showConv(c) {
    if (!S.conv || c.id !== S.conv.id || (c.version || 0) < (S.conv.version || 0)) return false;
    S.conv = c;
    renderConvHead();
    return true;
  }

  async function reloadConversation() {
    if (!S.conv) return;
    const id = S.conv.id;
    try {
      showConv(await api('GET', '/api/v1/conversations/' + encodeURIComponent(id)));
    } catch (e) { if (e.status === 404 && S.conv && S.conv.id === id) closeConversation(); }
  }

  function closeConversation() {
    stopPresence();
    S.conv = null; S.customer = null; S.custIDs = new Set(); S.entries.clear();
    $('conv').hidden = true; $('conv-empty').hidden = false; $('cust').hidden = true;
    $('inbox-view').classList.remove('has-conv');
  }

  // backToList returns to the list (on a narrow screen the conversation
  // pane gives way to it), the keyboard on the row of the conversation.
  function backToList() {
    $('inbox-view').classList.remove('has-conv');
    $('conv-list').focus();
  }
  $('conv-back').addEventListener('click', backToList);

  function renderConvHead() {
    const c = S.conv;
    const name = (S.customer && S.customer.name) || (S.customer && S.customer.identities[0] && S.customer.identities[0].value) || t('cust.label');
    $('conv-name').textContent = name;
    const ch = S.byChannel[c.channel];
    const sub = clear($('conv-sub'));
    sub.append(icon(ch && ch.type, c.channel), ' ' + c.channel + (c.subject ? ' · ' + c.subject : ''),
      c.team ? ' · ' + t('conv.team', { team: c.team }) : '');
    const st = $('conv-status');
    st.textContent = c.status === 'snoozed' && c.snoozed_until ? t('conv.snoozedUntil', { when: when(c.snoozed_until) }) : statusLabel(c.status);
    st.className = 'pill st-' + c.status;
    const sel = clear($('act-assign'));
    sel.append(el('option', { value: '', text: c.assignee ? t('conv.assignedTo', { agent: c.assignee }) : t('conv.assignToMenu') }));
    for (const a of S.me.agents) if (a !== c.assignee) sel.append(el('option', { value: a, text: a }));
    $('act-mine').hidden = c.assignee === S.me.name;
    $('act-unassign').hidden = !c.assignee;
    $('act-resolve').hidden = c.status === 'resolved';
    $('act-reopen').hidden = c.status !== 'resolved' && c.status !== 'snoozed';
    if (S.customer) renderReplyChannels();
  }

  async function patch(body) {
    try {
      showConv(await api('PATCH', '/api/v1/conversations/' + encodeURIComponent(S.conv.id), body));
      scheduleListRefresh();
    } catch (e) { fail(e); }
  }
  $('act-mine').addEventListener('click', () => patch({ assignee: S.me.name }));
  $('act-unassign').addEventListener('click', () => patch({ assignee: '' }));
  $('act-assign').addEventListener('change', (ev) => { if (ev.target.value) patch({ assignee: ev.target.value }); });
  $('act-resolve').addEventListener('click', () => patch({ status: 'resolved' }));
  $('act-reopen').addEventListener('click', () => patch({ status: 'open' }));
  $('act-snooze').addEventListener('click', () => {
    const v = $('act-snooze-until').value;
    const d = v ? new Date(v) : null;
    if (!d || isNaN(d) || d <= new Date()) { toast(t('snooze.future'), true); return; }
    patch({ status: 'snoozed', snoozed_until: d.toISOString() });
  });
  // Snooze presets (issue 19), in the agent's (the browser's) time zone;
  // "Custom…" shows the date-time picker and its Snooze button.
  const snoozePresets = {
    hour: () => new Date(Date.now() + 3600 * 1000),
    tomorrow: () => { const d = new Date(); d.setDate(d.getDate() + 1); d.setHours(9, 0, 0, 0); return d; },
    monday: () => { const d = new Date(); d.setDate(d.getDate() + (((8 - d.getDay()) % 7) || 7)); d.setHours(9, 0, 0, 0); return d; },
  };
  function setupSnooze() {
    const pick = el('select', { id: 'act-snooze-pick', 'aria-label': t('snooze.label') });
    const fill = () => {
      clear(pick).append(el('option', { value: '', text: t('snooze.label') }));
      for (const k of ['hour', 'tomorrow', 'monday']) {
        const at = snoozePresets[k]();
        pick.append(el('option', { value: k, text: t('snooze.' + k) + (k === 'hour' ? '' : ' · ' + sbFmt.date(at, { weekday: 'short', day: 'numeric', month: 'short' })) }));
      }
      pick.append(el('option', { value: 'custom', text: t('snooze.custom') }));
    };
    const showCustom = (on) => { $('act-snooze-until').hidden = !on; $('act-snooze').hidden = !on; };
    fill();
    showCustom(false);
    pick.addEventListener('focus', fill);
    pick.addEventListener('change', () => {
      const k = pick.value;
      pick.value = '';
      if (k === 'custom') { showCustom(true); $('act-snooze-until').focus(); return; }
      showCustom(false);
      if (snoozePresets[k]) patch({ status: 'snoozed', snoozed_until: snoozePresets[k]().toISOString() });
    });
    $('act-snooze-until').parentNode.prepend(pick);
  }
  setupSnooze();

  // ---- the customer -------------------------------------------------------------------
  // loadCustomer shows customer id; false when a newer openConversation
  // (than generation gen) superseded it meanwhile.
  async function loadCustomer(id, gen) {
    const cust = await api('GET', '/api/v1/customers/' + encodeURIComponent(id));
    if (gen !== S.openGen) return false;
    S.customer = cust;
    S.custIDs = new Set([cust.id].concat(cust.merged_from || []));
    renderConvHead();
    renderCustomer();
    loadSuggestions();
    return true;
  }

  function renderCustomer() {
    const c = S.customer;
    $('cust').hidden = false;
    $('cust-name').textContent = c.name || (c.identities[0] && c.identities[0].value) || t('cust.unknown');
    $('cust-meta').textContent = t('cust.meta', { n: sbFmt.number(c.entries || 0), since: when(c.created_at) }) +
      (c.merged_from && c.merged_from.length ? ' · ' + t('cust.merged', { n: sbFmt.number(c.merged_from.length) }) : '');
    const ids = clear($('cust-ids'));
    for (const i of c.identities) {
      ids.append(el('li', { class: 'id' },
        el('span', { class: 'id-type', text: i.type === 'email' || i.type === 'phone' ? t('ident.' + i.type) : i.type }),
        el('span', { class: 'id-value', text: i.value }),
        i.verified ? el('span', { class: 'mark verified', title: t('ident.verifiedTitle'), text: '✓ ' + t('ident.verified') })
          : el('span', { class: 'mark claimed', title: t('ident.claimedTitle'), text: t('ident.claimed') }),
        el('button', { type: 'button', class: 'id-move link small', title: t('ident.moveTitle'),
          'aria-label': t('ident.moveLabel', { type: i.type, value: i.value }),
          'data-key': i.type + ':' + i.value, text: t('ident.move'), onclick: () => openMove(c, i) }),
        el('button', { type: 'button', class: 'id-remove link small', title: t('ident.removeTitle'),
          'aria-label': t('ident.removeLabel', { type: i.type, value: i.value }),
          'data-key': i.type + ':' + i.value, text: t('ident.remove'), onclick: () => removeIdentity(c, i) })));
    }
    // A move under way stays open only while its identity is still listed
    // on the customer it was started from.
    if (S.moving && (S.moving.cust.id !== c.id || !c.identities.some((i) => i.type + ':' + i.value === S.moving.key))) closeMove();
    else if (S.moving) S.moving.cust = c;
    loadConsents(c);
  }

  // loadConsents shows the state per purpose (the general one, "*") and
  // the current decisions, and the form an agent records a consent with
  // (given on the phone, with its source).
  async function loadConsents(cust) {
    let v;
    try {
      v = await api('GET', '/api/v1/customers/' + encodeURIComponent(cust.id) + '/consents');
    } catch (e) { return; }
    if (S.customer !== cust) return;
    const cs = clear($('cust-consents'));
    const purposes = v.purposes.filter((p) => p.basis !== 'none');
    for (const p of purposes) {
      cs.append(el('li', { class: 'purpose ' + (p.granted ? 'granted' : 'revoked'), 'data-purpose': p.name },
        el('span', { class: 'mark ' + (p.granted ? 'verified' : 'revoked'), text: p.granted ? t('consent.allowed') : t('consent.notAllowed') }),
        ' ' + p.name, el('span', { class: 'muted small', text: ' (' + (p.basis === 'opt_in' || p.basis === 'opt_out' ? t('consent.' + p.basis) : p.basis) + ')' })));
    }
    for (const k of v.consents) {
      if (k.channel === '*' && purposes.some((p) => p.name === k.purpose)) continue; // shown above
      cs.append(el('li', { class: k.granted ? 'granted' : 'revoked' },
        el('span', { class: 'mark ' + (k.granted ? 'verified' : 'revoked'), text: k.granted ? t('consent.granted') : t('consent.revoked') }),
        ' ' + k.channel + ' · ' + k.purpose,
        el('span', { class: 'muted small', text: ' ' + when(k.at) + (k.source ? ' · ' + k.source : '') })));
    }
    const last = v.history[v.history.length - 1];
    if (last) cs.append(el('li', { class: 'muted small', text: t('consent.lastChange', { when: when(last.at), by: last.recorded_by || last.source || t('consent.aMessage'), n: sbFmt.number(v.history.length) }) }));
    const purpose = el('select', { 'aria-label': t('consent.purpose'), 'data-role': 'purpose' }, ...purposes.map((p) => el('option', { value: p.name, text: p.name })));
    const granted = el('select', { 'aria-label': t('consent.decision'), 'data-role': 'decision' }, el('option', { value: 'true', text: t('consent.gave') }), el('option', { value: 'false', text: t('consent.withdrew') }));
    const source = el('input', { type: 'text', value: 'phone', 'aria-label': t('consent.source'), size: 8 });
    const form = el('form', { class: 'consent-form' }, t('consent.customer') + ' ', granted, ' ' + t('consent.to') + ' ', purpose, ' ' + t('consent.via') + ' ', source,
      el('button', { type: 'submit', text: t('consent.record') }));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      try {
        await api('PUT', '/api/v1/customers/' + encodeURIComponent(cust.id) + '/consents',
          { channel: '*', purpose: purpose.value, granted: granted.value === 'true', source: source.value.trim() || 'phone' });
        toast(t('consent.recorded'));
        loadConsents(cust);
      } catch (e) { toast(e.message, true); }
    });
    if (purposes.length) cs.append(el('li', {}, form));
  }

  // Agents correct identities (issue 22): add one (claimed, or verified
  // with a reason), remove a wrong one. Both are audited and appear on the
  // timeline as events; a conflict raises a suggestion, shown below.
  async function refreshCustomer(cust) {
    if (S.customer !== cust || !S.conv) return;
    if (await loadCustomer(S.conv.customer_id, S.openGen)) await loadTimeline();
  }

  async function removeIdentity(cust, i) {
    try {
      await api('DELETE', '/api/v1/customers/' + encodeURIComponent(cust.id) + '/identities/' +
        encodeURIComponent(i.type + ':' + i.value) + '?reason=' + encodeURIComponent('removed in the customer panel'));
      toast(t('ident.removed'));
      await refreshCustomer(cust);
    } catch (e) { fail(e); }
  }

  $('cust-id-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const cust = S.customer;
    if (!cust) return;
    $('cust-id-error').textContent = '';
    const body = { type: $('cust-id-type').value, value: $('cust-id-value').value.trim(),
      verified: $('cust-id-verified').checked, reason: $('cust-id-reason').value.trim() };
    if (body.verified && !body.reason) {
      $('cust-id-error').textContent = t('ident.needReason');
      return;
    }
    $('cust-id-add').disabled = true;
    try {
      const c = await api('POST', '/api/v1/customers/' + encodeURIComponent(cust.id) + '/identities', body);
      $('cust-id-value').value = '';
      $('cust-id-reason').value = '';
      $('cust-id-verified').checked = false;
      toast(c.conflict ? t('ident.addedClaimed', { why: c.conflict }) : t('ident.added'));
      await refreshCustomer(cust);
    } catch (e) {
      $('cust-id-error').textContent = e.message || String(e);
    } finally {
      $('cust-id-add').disabled = false;
    }
  });

  // Moving an identity to another customer: the agent names the target by
  // one of its identities (email, phone, or TYPE:VALUE) or pastes its
  // customer id, checks who was found (name and identities), optionally
  // gives a reason, and moves. Changing the target text forgets what was
  // found, so Move always goes to the customer shown.
  // S.moving is { cust, key, target } while the form is open.
  function openMove(cust, i) {
    S.moving = { cust, key: i.type + ':' + i.value, target: null };
    $('cust-move-what').textContent = t('move.what', { type: i.type, value: i.value });
    $('cust-move-target').value = '';
    $('cust-move-reason').value = '';
    $('cust-move-found').textContent = '';
    $('cust-move-error').textContent = '';
    $('cust-move-go').disabled = true;
    $('cust-move-form').hidden = false;
    $('cust-move-target').focus();
  }

  function closeMove() {
    S.moving = null;
    $('cust-move-form').hidden = true;
  }

  // moveTargetPath reads what the agent typed: an identity (TYPE:VALUE, an
  // address with @, a phone number) is looked up, anything else is taken
  // as a customer id.
  function moveTargetPath(text) {
    if (/^[a-z][a-z0-9_-]*:./.test(text)) return '/api/v1/customers?identity=' + encodeURIComponent(text);
    if (text.includes('@')) return '/api/v1/customers?identity=' + encodeURIComponent('email:' + text);
    if (/^\+?[0-9][0-9 ().-]{3,}$/.test(text)) return '/api/v1/customers?identity=' + encodeURIComponent('phone:' + text);
    return '/api/v1/customers/' + encodeURIComponent(text);
  }

  async function findMoveTarget() {
    const m = S.moving;
    if (!m) return;
    const text = $('cust-move-target').value.trim();
    m.target = null;
    $('cust-move-go').disabled = true;
    $('cust-move-found').textContent = '';
    $('cust-move-error').textContent = '';
    if (!text) { $('cust-move-error').textContent = t('move.nameTarget'); return; }
    let tgt;
    try {
      tgt = await api('GET', moveTargetPath(text));
    } catch (e) {
      if (S.moving !== m) return;
      $('cust-move-error').textContent = e.status === 404 ? t('move.notFound', { text }) : (e.message || String(e));
      return;
    }
    if (S.moving !== m || $('cust-move-target').value.trim() !== text) return;
    if (tgt.id === m.cust.id || S.custIDs.has(tgt.id)) {
      $('cust-move-error').textContent = t('move.same');
      return;
    }
    m.target = tgt;
    $('cust-move-found').textContent = t('move.to', { name: tgt.name || t('move.unnamed'), id: tgt.id }) +
      (tgt.identities.length ? ': ' + tgt.identities.map((i) => i.type + ':' + i.value).join(', ') : '');
    $('cust-move-go').disabled = false;
  }

  $('cust-move-find').addEventListener('click', findMoveTarget);
  $('cust-move-cancel').addEventListener('click', closeMove);
  $('cust-move-target').addEventListener('input', () => {
    if (!S.moving) return;
    S.moving.target = null;
    $('cust-move-go').disabled = true;
    $('cust-move-found').textContent = '';
  });
  $('cust-move-form').addEventListener('keydown', (ev) => { if (ev.key === 'Escape') { ev.stopPropagation(); closeMove(); } });
  // Enter in the target field finds (a form whose Move is still disabled
  // would not submit on Enter).
  $('cust-move-target').addEventListener('keydown', (ev) => {
    if (ev.key !== 'Enter' || (S.moving && S.moving.target)) return;
    ev.preventDefault();
    findMoveTarget();
  });
  $('cust-move-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const m = S.moving;
    if (!m) return;
    if (!m.target) { await findMoveTarget(); return; } // Move is enabled only once found
    $('cust-move-go').disabled = true;
    $('cust-move-error').textContent = '';
    try {
      await api('POST', '/api/v1/customers/' + encodeURIComponent(m.cust.id) + '/identities/' + encodeURIComponent(m.key) + '/move',
        { to: m.target.id, reason: $('cust-move-reason').value.trim() });
      toast(t('move.moved', { key: m.key, to: m.target.name || m.target.id }));
      closeMove();
      await refreshCustomer(m.cust);
    } catch (e) {
      if (S.moving !== m) return;
      $('cust-move-error').textContent = e.message || String(e);
      $('cust-move-go').disabled = false;
    }
  });

  async function loadSuggestions() {
    const cust = S.customer;
    try {
      const { merges } = await api('GET', '/api/v1/customers/' + encodeURIComponent(cust.id) + '/merges');
      const open = merges.filter((m) => m.kind === 'suggestion' && m.status === 'proposed');
      const ul = clear($('cust-sugg'));
      $('cust-sugg-wrap').hidden = open.length === 0;
      for (const m of open) {
        const otherID = S.custIDs.has(m.winner) ? m.loser : m.winner;
        const other = await api('GET', '/api/v1/customers/' + encodeURIComponent(otherID)).catch(() => null);
        if (S.customer !== cust) return;
        const li = el('li', { class: 'sugg-item', 'data-id': m.id },
          el('div', { class: 'sugg-who' }, t('sugg.same') + ' ',
            el('strong', { text: other ? (other.name || (other.identities[0] && other.identities[0].value) || otherID) : otherID }), '?'),
          other ? el('div', { class: 'muted small', text: other.identities.map((i) => i.type + ':' + i.value + (i.verified ? ' ✓' : ' (' + t('ident.claimed') + ')')).join(', ') }) : null,
          el('div', { class: 'evidence' }, el('span', { class: 'muted small', text: t('sugg.evidence') + ' ' }),
            m.evidence_kind === 'name_hint' ? el('span', { class: 'mark claimed', title: t('sugg.weakTitle'), text: t('sugg.weak') }) : null,
            ' ', el('span', { class: 'evidence-words', text: evidenceWords(m, other) })),
          el('div', { class: 'sugg-actions' },
            el('button', { type: 'button', class: 'primary', text: t('sugg.accept'), onclick: () => decide(m.id, true) }),
            el('button', { type: 'button', text: t('sugg.reject'), onclick: () => decide(m.id, false) })));
        ul.append(li);
      }
    } catch (e) { fail(e); }
  }

  // evidenceWords says what matched, in words (issue 19): the identity and
  // the channels it was seen on, never the customers' ids.
  const ID_WORD = { email: 'evidence.email', phone: 'evidence.phone', slack: 'evidence.slack' };
  function showIdentity(type, value) {
    const m = type === 'phone' && /^\+358(\d{2})(\d{3})(\d+)$/.exec(value);
    return m ? '+358 ' + m[1] + ' ' + m[2] + ' ' + m[3] : value;
  }
  function channelWords(name) {
    const ch = S.byChannel[name];
    return ch ? t('evidence.channel', { name, kind: chanLabel(ch.type) }) : name;
  }
  function evidenceWords(m, other) {
    const [type, ...rest] = (m.identity || '').split(':');
    const value = rest.join(':');
    const what = m.identity ? t(ID_WORD[type] || 'evidence.other', { type, value: showIdentity(type, value) }) : '';
    const on = m.channel ? channelWords(m.channel) : '';
    const theirs = other && m.identity && other.identities.find((i) => i.type + ':' + i.value === m.identity);
    const theirsHow = theirs ? (theirs.verified ? t('evidence.verified') : t('evidence.claimed')) : '';
    switch (m.evidence_kind) {
    case 'claim_of_verified': return t('evidence.claimOfVerified', { what, on });
    case 'verified_of_claim': return t('evidence.verifiedOfClaim', { what, on });
    case 'agent_identity': return t('evidence.agent', { what });
    case 'undone_merge': return t('evidence.undone', { on });
    case 'name_hint': return what ? t('evidence.nameHint', { what }) : t('evidence.nameOnly');
    }
    return what ? what + (on ? ' · ' + on : '') + (theirsHow ? ' · ' + theirsHow : '') : t('evidence.unknown');
  }

  async function decide(id, accept) {
    try {
      await api('POST', '/api/v1/suggestions/' + encodeURIComponent(id) + (accept ? '/accept' : '/reject'));
      toast(accept ? t('sugg.merged') : t('sugg.rejected'));
      if (await loadCustomer(S.conv.customer_id, S.openGen)) await loadTimeline();
    } catch (e) { fail(e); }
  }

  // ---- the timeline ---------------------------------------------------------------------
  const sortKey = (e) => e.occurred_at + '|' + e.id;
  const RANK = { queued: 0, sent: 1, delivered: 2, undelivered: 2, failed: 2 };
  const statusRank = (s) => RANK[s] || 0;

  async function loadTimeline() {
    S.entries.clear();
    clear($('tl-entries'));
    S.tlNext = '';
    const cust = S.customer;
    const r = await api('GET', '/api/v1/customers/' + encodeURIComponent(cust.id) + '/timeline?limit=50');
    if (S.customer !== cust) return;
    for (const e of r.entries) addEntry(e);
    S.tlNext = r.next;
    renderOlder();
    const tl = $('timeline');
    tl.scrollTop = tl.scrollHeight;
  }

  function renderOlder() {
    $('tl-older').textContent = S.tlNext ? t('tl.older') : t('tl.start');
  }

  async function loadOlder() {
    if (!S.tlNext || S.loadingOlder || !S.customer) return;
    S.loadingOlder = true;
    const cust = S.customer;
    const tl = $('timeline');
    const fromBottom = tl.scrollHeight - tl.scrollTop;
    try {
      const r = await api('GET', '/api/v1/customers/' + encodeURIComponent(cust.id) + '/timeline?limit=50&before=' + encodeURIComponent(S.tlNext));
      if (S.customer !== cust) return;
      for (const e of r.entries) addEntry(e);
      S.tlNext = r.next;
      renderOlder();
      tl.scrollTop = tl.scrollHeight - fromBottom;
    } catch (e) { fail(e); } finally { S.loadingOlder = false; }
  }
  $('timeline').addEventListener('scroll', () => { if ($('timeline').scrollTop < 120) loadOlder(); });

  async function loadNewEntries() {
    if (!S.customer) return;
    const cust = S.customer;
    try {
      const r = await api('GET', '/api/v1/customers/' + encodeURIComponent(cust.id) + '/timeline?limit=50');
      if (S.customer !== cust) return;
      const tl = $('timeline');
      const atBottom = tl.scrollHeight - tl.scrollTop - tl.clientHeight < 80;
      for (const e of r.entries) {
        if (!S.entries.has(e.id) && e.direction === 'in') $('live').textContent = t('live.newMessage', { who: e.sender_name || cust.name || t('cust.label'), text: (e.text || '').slice(0, 140) });
        addEntry(e);
      }
      if (atBottom) tl.scrollTop = tl.scrollHeight;
    } catch (e) { fail(e); }
  }

  // addEntry adds or updates an entry, keeping the DOM in timeline order.
  function addEntry(e) {
    const had = S.entries.get(e.id);
    // Answers and events arrive out of order (a reply's POST answer or an
    // older timeline read after the event of its delivery): never go back to
    // an older version, nor to an earlier delivery status (the hub's
    // statuses only move forward).
    if (had && ((e.version || 0) < (had.version || 0) || statusRank(e.status) < statusRank(had.status))) return;
    S.entries.set(e.id, e);
    if (had) {
      // Re-render only what changed (a re-rendered email frame reloads).
      if (had.updated_at !== e.updated_at || had.status !== e.status || had.status_detail !== e.status_detail) renderEntry(e);
      return;
    }
    const node = entryNode(e);
    const box = $('tl-entries');
    const k = sortKey(e);
    let before = null;
    for (let n = box.lastElementChild; n; n = n.previousElementSibling) {
      if (n.dataset.key <= k) break;
      before = n;
    }
    box.insertBefore(node, before);
  }

  function renderEntry(e) {
    const old = document.querySelector('#tl-entries [data-id="' + CSS.escape(e.id) + '"]');
    if (old) old.replaceWith(entryNode(e));
  }

  // A survey answer: the score (stars, or a thumb on the thumbs scale) and
  // the customer's comment, in the conversation it rates.
  function csatNode(e) {
    const c = e.csat;
    const score = c.scale === 2 ? (c.score === 2 ? '👍' : '👎')
      : '★'.repeat(Math.max(0, Math.min(c.score, 5))) + '☆'.repeat(Math.max(0, 5 - c.score));
    const label = c.scale === 2 ? (c.score === 2 ? t('csat.up') : t('csat.down')) : sbFmt.number(c.score) + '/' + sbFmt.number(c.scale);
    return el('div', { class: 'entry csat', 'data-id': e.id, 'data-key': sortKey(e) },
      el('div', {},
        el('span', { class: 'muted small', text: t('csat.survey') + ' · ' }),
        el('span', { class: 'csat-score', title: t('csat.score', { score: label }) }, el('span', { 'aria-hidden': 'true', text: score + ' ' }), label),
        el('span', { class: 'muted small', text: ' · ' + e.channel + ' · ' + when(e.occurred_at) })),
      c.comment ? el('blockquote', { class: 'csat-comment', text: c.comment }) : null);
  }

  function entryNode(e) {
    const ch = S.byChannel[e.channel];
    const type = ch ? ch.type : '';
    if (e.kind === 'csat' && e.csat) return csatNode(e); // issue 17
    if (e.kind === 'event') {
      return el('div', { class: 'entry event', 'data-id': e.id, 'data-key': sortKey(e) },
        el('span', { class: 'muted small', text: when(e.occurred_at) + ' · ' + e.text }));
    }
    const dir = e.direction;
    let who;
    if (dir === 'in') who = e.sender_name || (S.customer && S.customer.name) || (e.sender && e.sender.value) || t('cust.label');
    else if (dir === 'note') who = (e.agent || t('tl.agent')) + ' · ' + t('tl.privateNote');
    else who = (e.agent || t('tl.agent')) + (e.sender ? ' → ' + e.sender.value : '');
    const other = S.conv && e.conversation_id && e.conversation_id !== S.conv.id;
    const art = el('article', { class: 'entry ' + dir + (other ? ' other' : ''), 'data-id': e.id, 'data-key': sortKey(e) },
      el('header', {},
        icon(type, e.channel),
        el('span', { class: 'who', text: who }),
        dir === 'in' && e.sender && e.sender.value !== who ? el('span', { class: 'muted small', text: e.sender.value }) : null,
        el('span', { class: 'muted small', text: ' · ' + e.channel }),
        dir === 'in' && e.posted_by ? el('span', { class: 'muted small posted-by', title: t('tl.postedByTitle'), text: ' · ' + t('tl.postedBy', { who: e.posted_by }) }) : null,
        other ? el('span', { class: 'tag', title: t('tl.otherTitle'), text: t('tl.other') }) : null,
        el('span', { class: 'spacer' }),
        el('time', { class: 'muted small', datetime: e.occurred_at, text: when(e.occurred_at) })));
    if (e.subject && dir === 'in') art.append(el('div', { class: 'subject', text: e.subject }));
    if (e.html) {
      const frame = el('iframe', {
        class: 'html-body', src: '/api/v1/entries/' + encodeURIComponent(e.id) + '/html',
        sandbox: 'allow-popups allow-popups-to-escape-sandbox', referrerpolicy: 'no-referrer',
        title: t('tl.emailFrame'),
      });
      const text = el('div', { class: 'text', text: e.text, hidden: true });
      const toggle = el('button', { type: 'button', class: 'link small', text: t('tl.showPlain') });
      toggle.addEventListener('click', () => {
        text.hidden = !text.hidden;
        frame.hidden = !text.hidden;
        toggle.textContent = text.hidden ? t('tl.showPlain') : t('tl.showFormatted');
      });
      art.append(frame, text, el('div', { class: 'muted small' }, t('tl.imagesBlocked') + ' ', toggle));
    } else {
      art.append(el('div', { class: 'text', text: e.text }));
    }
    if (e.fields && e.fields.length) {
      const dl = el('dl', { class: 'fields' });
      for (const f of e.fields) dl.append(el('dt', { text: f.name }), el('dd', { text: f.value }));
      art.append(dl);
    }
    if (e.attachments && e.attachments.length) {
      art.append(el('ul', { class: 'atts' }, ...e.attachments.map((a, i) => {
        const about = ' (' + (a.content_type || t('tl.file')) + ', ' + sbFmt.number(Math.ceil((a.size || 0) / 1024)) + ' KB)' + (a.omitted ? ' — ' + t('tl.notKept', { why: a.omitted }) : '');
        if (!a.sha256 || a.omitted) return el('li', { text: '📎 ' + a.name + about });
        // A download with safe headers (inbox/attachments.go), never shown in place.
        const link = el('li', {}, '📎 ', el('a', { href: '/api/v1/entries/' + encodeURIComponent(e.id) + '/attachments/' + i, download: a.name || 'attachment', rel: 'noopener', text: a.name }), about);
        // Raster images get a thumbnail (served inline only for these types).
        if (/^image\/(png|jpeg|gif|webp)$/.test(a.content_type || '')) {
          link.append(el('a', { class: 'att-thumb-link', href: '/api/v1/entries/' + encodeURIComponent(e.id) + '/attachments/' + i, download: a.name || 'attachment', 'aria-label': a.name },
            el('img', { class: 'att-thumb', src: '/api/v1/entries/' + encodeURIComponent(e.id) + '/attachments/' + i + '?inline=1', alt: a.name, loading: 'lazy' })));
        }
        return link;
      })));
    }
    if (e.flags && e.flags.length) art.append(el('div', { class: 'muted small', text: t('tl.flags', { flags: e.flags.join(', ') }) }));
    if (dir === 'out') {
      art.append(el('footer', { class: 'delivery st-' + (e.status || 'queued'), 'data-status': e.status || '' },
        el('span', { class: 'status-label', text: statusLabel(e.status || 'queued') }),
        e.status_detail ? el('span', { class: 'status-detail', text: ' — ' + e.status_detail }) : null));
    }
    return art;
  }

  // ---- replying -------------------------------------------------------------------------
  const REACH = { email: 'email', sms: 'phone', slack: 'slack' };

  // Channel types that send replies: to an identity of REACH's type, or
  // (plugin) back to the conversation's sender.
  const SENDS = new Set(['email', 'sms', 'slack', 'plugin']);

  // renderReplyChannels offers only channels that can reach this customer
  // (issue 19): the channel sends, the customer has an identity of its
  // kind (the conversation's own channel answers its sender), and the
  // agent may use it in its phase: live, or pilot for the pilot team (a
  // pilot channel is its team's alone; admins may use every one). With
  // none, the composer writes notes and says why.
  function renderReplyChannels() {
    const sel = clear($('reply-channel'));
    const c = S.conv;
    const have = new Set(S.customer.identities.map((i) => i.type));
    const pilotOK = (ch) => ch.phase === 'pilot' && (S.me.role === 'admin' || S.me.teams.includes(ch.pilot_team));
    const usable = (ch) => ch && SENDS.has(ch.type) && (ch.phase === 'live' || pilotOK(ch));
    const opts = usable(S.byChannel[c.channel]) ? [c.channel] : [];
    for (const ch of S.channels) {
      if (ch.name === c.channel || !usable(ch)) continue;
      if (REACH[ch.type] && have.has(REACH[ch.type])) opts.push(ch.name);
    }
    let none = $('reply-none');
    if (!none) {
      none = el('span', { id: 'reply-none', class: 'muted small', role: 'status' });
      $('via-wrap').after(none);
    }
    none.textContent = opts.length ? '' : t('composer.noChannel');
    $('mode-reply').disabled = !opts.length;
    $('via-wrap').classList.toggle('none', !opts.length);
    if (!opts.length && S.mode === 'reply') setMode('note');
    for (const name of opts) {
      const ch = S.byChannel[name];
      sel.append(el('option', { value: name === c.channel ? '' : name, text: name + (ch ? ' (' + chanLabel(ch.type) + ')' : '') + (name === c.channel ? ' — ' + t('composer.thisConversation') : '') }));
    }
  }

  function setMode(m) {
    S.mode = m;
    $('mode-reply').classList.toggle('on', m === 'reply');
    $('mode-note').classList.toggle('on', m === 'note');
    $('mode-reply').setAttribute('aria-pressed', String(m === 'reply'));
    $('mode-note').setAttribute('aria-pressed', String(m === 'note'));
    $('via-wrap').hidden = m !== 'reply';
    $('reply-text').placeholder = m === 'reply' ? t('composer.replyPh') : t('composer.notePh');
    $('composer').classList.toggle('note', m === 'note');
  }
  $('mode-reply').addEventListener('click', () => setMode('reply'));
  $('mode-note').addEventListener('click', () => setMode('note'));

  $('composer').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const text = $('reply-text').value;
    const withFiles = S.mode === 'reply' && window.sbComposerHasFiles && window.sbComposerHasFiles(); // files.js
    if ((!text.trim() && !withFiles) || !S.conv) return;
    $('send').disabled = true;
    $('composer-error').textContent = '';
    try {
      const id = encodeURIComponent(S.conv.id);
      let e;
      if (S.mode === 'reply') {
        const body = { text };
        if ($('reply-channel').value) body.channel = $('reply-channel').value;
        if (withFiles) body.attachments = await window.sbComposerAttachments();
        e = await api('POST', '/api/v1/conversations/' + id + '/messages', body);
        document.dispatchEvent(new CustomEvent('sb-reply-sent', { detail: e })); // files.js
      } else {
        e = await api('POST', '/api/v1/conversations/' + id + '/notes', { text });
      }
      $('reply-text').value = '';
      addEntry(e);
      $('timeline').scrollTop = $('timeline').scrollHeight;
      announce('viewing');
    } catch (e) {
      $('composer-error').textContent = e.message;
    } finally { $('send').disabled = false; }
  });
  $('reply-text').addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); $('composer').requestSubmit(); }
  });
  $('reply-text').addEventListener('input', () => {
    if (Date.now() - S.typingSent > 3000) { S.typingSent = Date.now(); announce('typing'); }
  });

  // ---- presence (collision detection) ------------------------------------------------------
  function announce(state) {
    if (!S.conv) return Promise.resolve();
    return api('POST', '/api/v1/conversations/' + encodeURIComponent(S.conv.id) + '/presence', { state }, { keepalive: state === 'left' })
      .catch(() => {});
  }
  function startPresence() {
    stopPresence();
    announce('viewing');
    S.heartbeat = setInterval(() => { announce('viewing'); renderPresence(); }, 15000);
    S.presenceTick = setInterval(renderPresence, 2000);
  }
  function stopPresence() {
    clearInterval(S.heartbeat); clearInterval(S.presenceTick);
    S.heartbeat = null;
    S.presence.clear();
  }
  async function leaveConversation() {
    if (S.conv) await announce('left');
    stopPresence();
  }
  window.addEventListener('pagehide', () => { if (S.conv) announce('left'); });

  function onPresence(d) {
    if (!S.conv || d.conversation_id !== S.conv.id || !S.me || d.agent === S.me.name) return;
    const known = S.presence.has(d.agent);
    if (d.status === 'left') S.presence.delete(d.agent);
    else S.presence.set(d.agent, { state: d.status, at: Date.now() });
    // Someone new arrived: tell them at once that we are here too.
    if (!known && d.status !== 'left') announce(Date.now() - S.typingSent < 3000 ? 'typing' : 'viewing');
    renderPresence();
  }

  function renderPresence() {
    const box = clear($('presence'));
    const now = Date.now();
    for (const [agent, p] of S.presence) {
      if (now - p.at > 40000) { S.presence.delete(agent); continue; }
      const typing = p.state === 'typing' && now - p.at < 6000;
      box.append(el('span', { class: 'who-here' + (typing ? ' typing' : ''), 'data-agent': agent, 'data-state': typing ? 'typing' : 'viewing' },
        el('span', { class: 'dot' }), typing ? t('presence.typing', { agent }) : t('presence.viewing', { agent })));
    }
    box.hidden = box.childElementCount === 0;
  }

  // ---- admin ----------------------------------------------------------------------------------
  async function loadAdmin() {
    try {
      const tb = clear($('admin-channels'));
      for (const c of S.channels) {
        const sel = el('select', { 'aria-label': t('admin.phaseOf', { name: c.name }), 'data-channel': c.name });
        for (const p of ['off', 'shadow', 'pilot', 'live']) sel.append(el('option', { value: p, text: t('phase.' + p) }));
        sel.value = c.phase;
        const result = el('span', { class: 'muted small' });
        sel.addEventListener('change', async () => {
          try {
            await api('PUT', '/api/v1/channels/' + encodeURIComponent(c.name) + '/phase', { phase: sel.value });
            toast(t('admin.phaseNow', { name: c.name, phase: t('phase.' + sel.value) }));
            await loadChannels();
            loadAdmin();
          } catch (e) { fail(e); sel.value = c.phase; }
        });
        const test = el('button', { type: 'button', text: t('admin.test'), 'aria-label': t('admin.testLabel', { name: c.name }), onclick: async () => {
          result.textContent = t('admin.testing');
          try {
            const r = await api('POST', '/api/v1/channels/' + encodeURIComponent(c.name) + '/test');
            result.textContent = (r.ok ? '✓ ' : '✗ ') + (r.report || '') + (r.error ? ' — ' + r.error : '');
          } catch (e) { result.textContent = e.message; }
        } });
        tb.append(el('tr', {},
          el('td', {}, icon(c.type), ' ', el('strong', { text: c.name })),
          el('td', { text: chanLabel(c.type) }),
          el('td', {}, sel, c.pilot_team ? el('span', { class: 'muted small', text: ' ' + t('admin.pilotTeam', { team: c.pilot_team }) }) : null),
          el('td', { class: 'muted small', text: c.updated_by ? c.updated_by + ', ' + when(c.updated_at) : t('admin.configured') }),
          el('td', {}, test, ' ', result)));
      }
      const tq = clear($('admin-queues'));
      for (const q of ['ingest', 'outbound']) {
        const s = await api('GET', '/api/v1/queues/' + q);
        tq.append(el('tr', {}, el('td', { text: t('queue.' + q) }), el('td', { text: sbFmt.number(s.length) }), el('td', { text: sbFmt.number(s.pending) }), el('td', { text: sbFmt.number(s.dead) })));
      }
    } catch (e) { fail(e); }
  }

  // ---- webhooks and audit (admin, issue 21) -------------------------------------------------
  const WH = { editing: '' };
  function setupWebhooksAdmin() {
    $('webhook-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const events = $('wh-events').value.split(',').map((x) => x.trim()).filter(Boolean);
      const body = { url: $('wh-url').value.trim(), events, allow_http: $('wh-allow-http').checked,
        allow_private_addresses: $('wh-allow-private').checked, enabled: $('wh-enabled').checked };
      try {
        if (WH.editing) {
          await api('PATCH', '/api/v1/webhooks/' + encodeURIComponent(WH.editing), body);
          toast(t('wh.saved', { name: WH.editing }));
        } else {
          body.name = $('wh-name').value.trim();
          const r = await api('POST', '/api/v1/webhooks', body);
          showSecret(r.webhook.name, r.secret);
          toast(t('wh.created', { name: r.webhook.name }));
        }
        resetWebhookForm();
        loadWebhooks();
      } catch (e) { fail(e); }
    });
    $('wh-cancel').addEventListener('click', resetWebhookForm);
    $('wh-secret-done').addEventListener('click', () => { $('wh-secret-value').textContent = ''; $('wh-secret').hidden = true; });
    $('wh-replay-failed').addEventListener('click', async () => {
      const name = $('wh-deliveries-name').textContent;
      try {
        const r = await api('POST', '/api/v1/webhooks/' + encodeURIComponent(name) + '/replay', {});
        toast(t('wh.replayed', { n: sbFmt.number(r.replayed), name }));
        loadDeliveries(name);
      } catch (e) { fail(e); }
    });
    loadWebhooks();
  }
  function showSecret(name, secret) {
    if (!secret) return;
    $('wh-secret-name').textContent = name;
    $('wh-secret-value').textContent = secret;
    $('wh-secret').hidden = false;
  }
  function resetWebhookForm() {
    WH.editing = '';
    $('webhook-form').reset();
    $('wh-name').disabled = false;
    $('wh-events').value = '*';
    $('wh-enabled').checked = true;
    setKey($('webhook-form-title'), 'wh.new');
    setKey($('wh-save'), 'wh.create');
    $('wh-cancel').hidden = true;
  }
  function editWebhook(w) {
    WH.editing = w.name;
    $('wh-name').value = w.name;
    $('wh-name').disabled = true;
    $('wh-url').value = w.url;
    $('wh-events').value = (w.events || []).join(', ');
    $('wh-allow-http').checked = !!w.allow_http;
    $('wh-allow-private').checked = !!w.allow_private_addresses;
    $('wh-enabled').checked = !!w.enabled;
    $('webhook-form-title').removeAttribute('data-i18n');
    $('webhook-form-title').textContent = t('wh.edit', { name: w.name });
    setKey($('wh-save'), 'common.save');
    $('wh-cancel').hidden = false;
  }
  async function loadWebhooks() {
    try {
      const r = await api('GET', '/api/v1/webhooks');
      const tb = clear($('admin-webhooks'));
      for (const w of r.webhooks || []) {
        const path = '/api/v1/webhooks/' + encodeURIComponent(w.name);
        const state = w.active ? t('wh.active') : (w.disabled_reason ? t('wh.disabledWhy', { why: w.disabled_reason }) : t('wh.disabled'));
        const configured = w.source === 'config';
        const act = (label, fn, cls) => el('button', { type: 'button', class: cls || '', text: label, 'aria-label': label + ' · ' + w.name, onclick: fn });
        tb.append(el('tr', { 'data-webhook': w.name },
          el('td', {}, el('strong', { text: w.name }), configured ? el('span', { class: 'muted small', text: ' (' + t('wh.configFile') + ')' }) : null),
          el('td', { class: 'small', text: w.url }),
          el('td', { class: 'small', text: (w.events || []).join(', ') }),
          el('td', { class: 'wh-state', text: state }),
          el('td', {},
            configured ? null : act(t('wh.editBtn'), () => editWebhook(w), 'wh-edit'), ' ',
            configured ? null : act(t('wh.rotate'), async () => {
              try { const x = await api('PATCH', path, { rotate_secret: true }); showSecret(w.name, x.secret); loadWebhooks(); } catch (e) { fail(e); }
            }, 'wh-rotate'), ' ',
            act(w.enabled ? t('wh.disable') : t('wh.enable'), async () => {
              try { await api('PATCH', path, { enabled: !w.enabled }); loadWebhooks(); } catch (e) { fail(e); }
            }, 'wh-toggle'), ' ',
            act(t('wh.ping'), async () => {
              try { const x = await api('POST', path + '/ping'); toast(t('wh.pingResult', { name: w.name, result: x.code ? 'HTTP ' + x.code : x.error || t('wh.noAnswer'), took: x.duration }), !(x.code >= 200 && x.code < 300)); } catch (e) { fail(e); }
            }, 'wh-ping'), ' ',
            act(t('wh.deliveries'), () => loadDeliveries(w.name), 'wh-deliveries'), ' ',
            configured ? null : act(t('wh.delete'), async (ev) => {
              const b = ev.currentTarget;
              if (b.dataset.armed !== '1') { b.dataset.armed = '1'; b.textContent = t('wh.deleteSure'); return; }
              try { await api('DELETE', path); toast(t('wh.deleted', { name: w.name })); $('wh-deliveries').hidden = true; loadWebhooks(); } catch (e) { fail(e); }
            }, 'wh-delete'))));
      }
    } catch (e) { fail(e); }
  }
  async function loadDeliveries(name) {
    try {
      const r = await api('GET', '/api/v1/webhooks/' + encodeURIComponent(name) + '/deliveries?limit=100');
      $('wh-deliveries-name').textContent = name;
      const tb = clear($('wh-deliveries-rows'));
      for (const d of r.deliveries || []) {
        tb.append(el('tr', { 'data-event': d.event_id, 'data-status': d.status },
          el('td', { class: 'small', text: d.event_id }), el('td', { text: d.type }), el('td', { text: d.status }),
          el('td', { text: sbFmt.number(d.attempts) }), el('td', { text: d.last_code || '' }), el('td', { class: 'small', text: d.last_attempt_at ? when(d.last_attempt_at) : '' }),
          el('td', {}, el('button', { type: 'button', class: 'wh-replay-one', text: t('wh.replay'), onclick: async () => {
            try { await api('POST', '/api/v1/webhooks/' + encodeURIComponent(name) + '/replay', { event_id: d.event_id }); toast(t('wh.replayedOne')); loadDeliveries(name); } catch (e) { fail(e); }
          } }))));
      }
      $('wh-deliveries').hidden = false;
    } catch (e) { fail(e); }
  }

  const AU = { next: '' };
  function setupAuditAdmin() {
    $('audit-filter').addEventListener('submit', (ev) => { ev.preventDefault(); loadAudit(false); });
    $('audit-more').addEventListener('click', () => loadAudit(true));
    loadAudit(false);
  }
  async function loadAudit(more) {
    const q = new URLSearchParams();
    for (const f of ['actor', 'action', 'customer']) {
      const v = $('audit-' + f).value.trim();
      if (v) q.set(f, v);
    }
    for (const f of ['from', 'to']) {
      const v = $('audit-' + f).value;
      if (v) q.set(f, new Date(v).toISOString());
    }
    q.set('limit', '50');
    if (more && AU.next) q.set('cursor', AU.next);
    try {
      const r = await api('GET', '/api/v1/audit?' + q.toString());
      const tb = more ? $('audit-rows') : clear($('audit-rows'));
      for (const a of r.audit || []) {
        tb.append(el('tr', { 'data-action': a.action, 'data-actor': a.actor },
          el('td', { class: 'small', title: a.at, text: when(a.at) }), el('td', { text: a.actor }), el('td', { text: a.action }),
          el('td', { class: 'small', text: a.target || '' }), el('td', { class: 'small', text: a.customer || '' }), el('td', { class: 'small', text: a.detail || '' })));
      }
      AU.next = r.next || '';
      $('audit-more').hidden = !AU.next;
    } catch (e) { fail(e); }
  }

  // The agent chose another language (i18n.js has re-applied the static
  // markup): draw again what this file drew, without a reload.
  document.addEventListener('sb-lang', () => {
    if (!S.me) return;
    $('me').textContent = S.me.name + (S.me.role === 'admin' ? ' · ' + t('me.admin') : '');
    for (const o of $('f-channel').querySelectorAll('option[data-type]')) o.textContent = o.value + ' (' + chanLabel(o.dataset.type) + ')';
    if (!$('inbox-view').hidden) renderList();
    if (S.conv) {
      renderConvHead();
      setMode(S.mode);
      renderOlder();
      for (const e of S.entries.values()) renderEntry(e);
      renderPresence();
    }
    if (S.customer) { renderCustomer(); loadSuggestions(); }
    if (!$('admin-view').hidden) {
      loadAdmin(); loadWebhooks(); loadAudit(false);
      if (!$('wh-deliveries').hidden) loadDeliveries($('wh-deliveries-name').textContent);
    }
  });

  boot();
})();
