// Labels, macros and automation rules (issue 24): label chips and a macro
// runner on the open conversation, and the admin page's label list, rule
// editor (with dry run) and macros. Text from the server is set with
// textContent only. app.js announces the conversation it shows with the
// sb-conversation-shown event.
'use strict';
(function () {
  const $ = (id) => document.getElementById(id);
  if (!$('conv-labels')) return;
  let csrf = '';
  let conv = null;

  async function api(method, path, body) {
    if (!csrf && method !== 'GET') {
      const s = await fetch('/api/v1/session', { credentials: 'same-origin' });
      if (s.ok) csrf = (await s.json()).csrf_token || '';
    }
    const init = { method, credentials: 'same-origin', headers: {} };
    if (method !== 'GET') init.headers['X-CSRF-Token'] = csrf;
    if (body !== undefined) { init.headers['Content-Type'] = 'application/json'; init.body = typeof body === 'string' ? body : JSON.stringify(body); }
    const r = await fetch(path, init);
    const text = await r.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
    if (!r.ok) throw new Error((data && (data.message || data.error)) || ('HTTP ' + r.status));
    return data;
  }

  function el(tag, cls, text) {
    const n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined) n.textContent = text;
    return n;
  }

  let catalog = [];
  let macros = [];
  async function loadCatalog() {
    try { catalog = (await api('GET', '/api/v1/labels')).labels || []; } catch (e) { catalog = []; }
    try { macros = (await api('GET', '/api/v1/macros')).macros || []; } catch (e) { macros = []; }
  }

  function renderConv() {
    const chips = $('conv-label-chips');
    chips.replaceChildren();
    if (!conv) return;
    for (const name of conv.labels || []) {
      const def = catalog.find((l) => l.name === name);
      const chip = el('span', 'label-chip', name);
      chip.dataset.label = name;
      if (def && def.color) chip.style.borderColor = def.color;
      const x = el('button', 'label-remove', '×');
      x.type = 'button';
      x.title = t('labels.remove', { name });
      x.setAttribute('aria-label', x.title);
      x.addEventListener('click', () => change({ remove: [name] }));
      chip.append(x);
      chips.append(chip);
    }
    const add = $('label-add');
    add.replaceChildren(el('option', '', t('labels.addMenu')));
    add.firstChild.value = '';
    for (const l of catalog) {
      if ((conv.labels || []).includes(l.name)) continue;
      const o = el('option', '', l.name);
      o.value = l.name;
      add.append(o);
    }
    const pick = $('macro-pick');
    pick.replaceChildren();
    for (const m of macros) {
      const o = el('option', '', m.name || m.id);
      o.value = m.id;
      pick.append(o);
    }
    pick.hidden = $('macro-run').hidden = macros.length === 0;
  }

  async function change(body) {
    if (!conv) return;
    $('macro-error').textContent = '';
    try {
      conv = await api('POST', '/api/v1/conversations/' + encodeURIComponent(conv.id) + '/labels', Object.assign({ customer: !!body.add }, body));
      renderConv();
      loadCustomer(conv.customer_id);
    } catch (e) { $('macro-error').textContent = e.message; }
  }

  $('label-add').addEventListener('change', (ev) => { if (ev.target.value) change({ add: [ev.target.value] }); });
  $('macro-run').addEventListener('click', async () => {
    if (!conv || !$('macro-pick').value) return;
    $('macro-error').textContent = '';
    try {
      conv = await api('POST', '/api/v1/conversations/' + encodeURIComponent(conv.id) + '/macros/' + encodeURIComponent($('macro-pick').value));
      renderConv();
      document.dispatchEvent(new CustomEvent('sb-open-conversation', { detail: conv.id })); // app.js refreshes its head
    } catch (e) { $('macro-error').textContent = e.message; }
  });
  document.addEventListener('sb-conversation-shown', async (ev) => {
    const fresh = !conv || conv.id !== ev.detail.id;
    conv = ev.detail;
    if (!catalog.length && !macros.length) await loadCatalog();
    renderConv();
    if (fresh) loadCustomer(conv.customer_id);
  });

  // ---- customer panel: labels and custom attributes ----------------------
  let attrDefs = null;
  let custID = '';
  async function loadCustomer(id) {
    custID = id;
    if (attrDefs === null) {
      try { attrDefs = ((await api('GET', '/api/v1/attributes')).attributes || []).filter((a) => a.on === 'customer'); } catch (e) { attrDefs = []; }
    }
    let cust;
    try { cust = await api('GET', '/api/v1/customers/' + encodeURIComponent(id)); } catch (e) { return; }
    if (custID !== id) return;
    renderCustomer(cust);
  }
  function renderCustomer(cust) {
    lastCust = cust;
    const p = $('cust-labels');
    p.replaceChildren();
    for (const name of cust.labels || []) p.append(el('span', 'label-chip', name));
    if (!(cust.labels || []).length) p.append(el('span', 'muted small', t('labels.none')));
    const box = $('cust-attrs');
    box.replaceChildren();
    const vals = cust.attributes || {};
    for (const a of attrDefs || []) {
      const label = el('label', 'attr', a.name + ' ');
      let input;
      if (a.type === 'list') {
        input = el('select');
        input.append(el('option', '', ''));
        for (const o of a.options || []) { const opt = el('option', '', o); opt.value = o; input.append(opt); }
      } else if (a.type === 'checkbox') {
        input = el('input');
        input.type = 'checkbox';
        input.checked = vals[a.name] === 'true';
      } else {
        input = el('input');
        input.type = a.type === 'number' ? 'number' : a.type === 'date' ? 'date' : 'text';
      }
      if (input.type !== 'checkbox') input.value = vals[a.name] || '';
      input.id = 'cust-attr-' + a.name;
      input.dataset.attr = a.name;
      label.append(input);
      box.append(label);
    }
    $('cust-attr-form').hidden = !(attrDefs || []).length;
  }
  $('cust-attr-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    $('cust-attr-error').textContent = '';
    const body = {};
    for (const input of $('cust-attrs').querySelectorAll('[data-attr]')) {
      body[input.dataset.attr] = input.type === 'checkbox' ? (input.checked ? 'true' : 'false') : input.value;
    }
    try {
      await api('PATCH', '/api/v1/customers/' + encodeURIComponent(custID) + '/attributes', body);
      loadCustomer(custID);
    } catch (e) { $('cust-attr-error').textContent = e.message; }
  });

  // ---- admin page --------------------------------------------------------
  async function loadAdmin() {
    await loadCatalog();
    const ul = $('admin-labels');
    ul.replaceChildren();
    for (const l of catalog) {
      const li = el('li', 'label-chip', l.name);
      if (l.color) li.style.borderColor = l.color;
      if (l.description) li.title = l.description;
      ul.append(li);
    }
    try {
      const rs = (await api('GET', '/api/v1/rules')).rules || [];
      $('rules-json').value = JSON.stringify(rs, null, 2);
    } catch (e) { $('rules-out').textContent = e.message; }
    const mu = $('admin-macros');
    mu.replaceChildren();
    for (const m of macros) mu.append(el('li', '', (m.name || m.id) + ' — ' + (m.actions || []).map((a) => a.type + (a.value ? ' ' + a.value : '')).join(', ')));
  }
  $('label-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await api('POST', '/api/v1/labels', { name: $('label-name').value.trim(), color: $('label-color').value, description: $('label-desc').value });
      $('label-name').value = '';
      $('rules-out').textContent = t('labels.saved');
      loadAdmin();
    } catch (e) { $('rules-out').textContent = e.message; }
  });
  $('rules-save').addEventListener('click', async () => {
    try {
      const rules = JSON.parse($('rules-json').value || '[]');
      await api('PUT', '/api/v1/rules', { rules });
      $('rules-out').textContent = t('rules.saved');
    } catch (e) { $('rules-out').textContent = e.message; }
  });
  $('rules-dry').addEventListener('click', async () => {
    try {
      const res = await api('POST', '/api/v1/rules/all/dry-run', { message_id: $('dry-message').value.trim() });
      const lines = (res.fired || []).map((f) => f.name + ': ' + (f.did || []).join(', '));
      $('rules-out').textContent = lines.length ? lines.join('\n') : t('rules.noneFire');
    } catch (e) { $('rules-out').textContent = e.message; }
  });
  $('macro-save').addEventListener('click', async () => {
    try {
      await api('POST', '/api/v1/macros', JSON.parse($('macros-json').value));
      $('rules-out').textContent = t('macros.saved');
      loadAdmin();
    } catch (e) { $('rules-out').textContent = e.message; }
  });
  // A new language: the conversation's chips and the customer's panel again.
  let lastCust = null;
  document.addEventListener('sb-lang', () => { if (conv) renderConv(); if (lastCust && lastCust.id === custID) renderCustomer(lastCust); });
  const adminView = $('admin-view');
  if (adminView) {
    new MutationObserver(() => { if (!adminView.hidden) loadAdmin(); }).observe(adminView, { attributes: true, attributeFilter: ['hidden'] });
  }
})();
