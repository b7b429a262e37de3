// Canned replies (issue 19). In the composer, "/" at the start of a word
// opens a list of the canned replies the agent sees (shared and their own),
// filtered by what follows the "/"; arrows move, Enter (or a click) puts
// the reply's text, placeholders filled by the server for the open
// conversation, in place of "/word", Escape closes. A dialog manages them:
// everyone their own, admins the shared ones too. Text from the server is
// set with textContent only. app.js announces the conversation it shows
// with the sb-conversation-shown event.
'use strict';
(function () {
  const $ = (id) => document.getElementById(id);
  const ta = $('reply-text');
  if (!ta) return;
  let csrf = '';
  let me = null;
  let conv = null;
  let replies = [];   // for the open conversation, with .rendered
  let loadedFor = null;
  let shown = [];     // the replies in the open list
  let active = -1;
  let token = null;   // { start, end } of "/word" in the textarea

  async function session() {
    const s = await fetch('/api/v1/session', { credentials: 'same-origin' });
    if (s.ok) { me = await s.json(); csrf = me.csrf_token || ''; }
  }
  async function api(method, path, body) {
    if (!me) await session();
    const init = { method, credentials: 'same-origin', headers: {} };
    if (method !== 'GET') init.headers['X-CSRF-Token'] = csrf;
    if (body !== undefined) { init.headers['Content-Type'] = 'application/json'; init.body = JSON.stringify(body); }
    const r = await fetch(path, init);
    const data = r.status === 204 ? null : await r.json().catch(() => null);
    if (!r.ok) throw new Error((data && data.message) || ('HTTP ' + r.status));
    return data;
  }
  function el(tag, attrs, ...kids) {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') n.className = v;
      else if (k === 'text') n.textContent = v;
      else if (k.startsWith('on') && typeof v === 'function') n.addEventListener(k.slice(2), v);
      else n.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of kids) if (c !== null && c !== undefined) n.append(c);
    return n;
  }

  // ---- the "/" list in the composer ---------------------------------------
  const list = el('ul', { id: 'canned-list', class: 'canned-list', role: 'listbox', 'aria-label': t('canned.list') });
  list.hidden = true;
  ta.after(list);
  ta.setAttribute('aria-autocomplete', 'list');

  async function load() {
    const id = conv ? conv.id : '';
    const q = id ? '?conversation_id=' + encodeURIComponent(id) : '';
    replies = (await api('GET', '/api/v1/canned_replies' + q)).canned_replies || [];
    loadedFor = id;
  }

  // word finds "/word" ending at the caret, at the start of a word.
  function word() {
    const end = ta.selectionStart;
    if (end !== ta.selectionEnd) return null;
    const m = /(^|\s)\/([^\s/]*)$/.exec(ta.value.slice(0, end));
    return m ? { start: end - m[2].length - 1, end, q: m[2].toLowerCase() } : null;
  }

  function close() {
    list.hidden = true;
    shown = []; active = -1; token = null;
    ta.removeAttribute('aria-activedescendant');
    ta.removeAttribute('aria-controls');
  }

  function render() {
    list.replaceChildren();
    if (!shown.length) {
      list.append(el('li', { class: 'canned-empty muted small', role: 'option', 'aria-disabled': 'true', text: replies.length ? t('canned.none_match') : t('canned.none_yet') }));
    }
    shown.forEach((r, i) => {
      list.append(el('li', {
        id: 'canned-opt-' + i, role: 'option', class: 'canned-opt' + (i === active ? ' active' : ''),
        'aria-selected': i === active ? 'true' : 'false', 'data-shortcut': r.shortcut,
        onmousedown: (ev) => { ev.preventDefault(); insert(r); },
      }, el('span', { class: 'canned-short', text: '/' + r.shortcut }), ' ', el('span', { class: 'canned-title', text: r.title }),
      el('span', { class: 'canned-scope muted small', text: r.shared ? t('canned.shared') : t('canned.personal') })));
    });
    list.hidden = false;
    ta.setAttribute('aria-controls', 'canned-list');
    if (active >= 0) ta.setAttribute('aria-activedescendant', 'canned-opt-' + active);
    else ta.removeAttribute('aria-activedescendant');
    const a = list.children[active];
    if (a) a.scrollIntoView({ block: 'nearest' });
  }

  async function update() {
    const w = word();
    if (!w) { close(); return; }
    token = w;
    // Read afresh each time the list opens (a colleague may have added one).
    if (list.hidden || loadedFor !== (conv ? conv.id : '')) {
      try { await load(); } catch (e) { close(); return; }
      const again = word();
      if (!again) { close(); return; }
      token = again;
    }
    shown = replies.filter((r) => r.shortcut.includes(token.q) || r.title.toLowerCase().includes(token.q));
    active = shown.length ? 0 : -1;
    render();
  }

  function insert(r) {
    if (!token) return;
    const text = r.rendered !== undefined ? r.rendered : r.text;
    const before = ta.value.slice(0, token.start), after = ta.value.slice(token.end);
    ta.value = before + text + after;
    const caret = before.length + text.length;
    ta.setSelectionRange(caret, caret);
    close();
    ta.focus();
    ta.dispatchEvent(new Event('input', { bubbles: true }));
  }

  ta.addEventListener('input', () => { update(); });
  ta.addEventListener('click', () => { update(); });
  ta.addEventListener('blur', () => setTimeout(() => { if (document.activeElement !== ta) close(); }, 0));
  ta.addEventListener('keydown', (ev) => {
    if (list.hidden) return;
    if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
      if (!shown.length) return;
      active = (active + (ev.key === 'ArrowDown' ? 1 : shown.length - 1)) % shown.length;
      render();
      ev.preventDefault();
    } else if (ev.key === 'Enter' && !ev.ctrlKey && !ev.metaKey) {
      if (active >= 0) { ev.preventDefault(); insert(shown[active]); } else close();
    } else if (ev.key === 'Escape') {
      // Close the list only: the composer keeps the focus.
      ev.preventDefault(); ev.stopPropagation();
      close();
    }
  });
  document.addEventListener('sb-conversation-shown', (ev) => {
    if (!conv || conv.id !== ev.detail.id) { close(); loadedFor = null; }
    conv = ev.detail;
  });

  // ---- managing them ---------------------------------------------------------
  const dlg = el('dialog', { id: 'canned-dialog', class: 'canned-dialog', 'aria-labelledby': 'canned-dialog-title' });
  const errP = el('p', { id: 'canned-error', class: 'error', role: 'alert' });
  const rows = el('ul', { id: 'canned-manage-list', class: 'canned-manage-list' });
  const fShort = el('input', { id: 'canned-shortcut', required: true, pattern: '[a-z0-9][a-z0-9_\\-]{0,31}', maxlength: '32', autocomplete: 'off' });
  const fTitle = el('input', { id: 'canned-title', required: true, maxlength: '100', autocomplete: 'off' });
  const fText = el('textarea', { id: 'canned-text', required: true, rows: '4', maxlength: '5000' });
  const fShared = el('input', { id: 'canned-shared', type: 'checkbox' });
  const sharedWrap = el('label', { class: 'canned-shared-wrap' }, fShared, ' ', el('span', { text: t('canned.shared_label') }));
  const saveBtn = el('button', { type: 'submit', id: 'canned-save', class: 'primary', text: t('canned.save') });
  const newBtn = el('button', { type: 'button', id: 'canned-new', text: t('canned.new') });
  let editing = null;
  const form = el('form', { id: 'canned-form', class: 'canned-form' },
    el('label', { for: 'canned-shortcut', text: t('canned.shortcut') }), fShort,
    el('label', { for: 'canned-title', text: t('canned.title') }), fTitle,
    el('label', { for: 'canned-text', text: t('canned.text') }), fText,
    el('p', { class: 'muted small', text: t('canned.placeholders_help') }),
    sharedWrap,
    el('div', { class: 'canned-form-buttons' }, saveBtn, newBtn));
  dlg.append(
    el('h2', { id: 'canned-dialog-title', text: t('canned.manage_title') }),
    rows, form, errP,
    el('div', { class: 'canned-dialog-foot' }, el('button', { type: 'button', id: 'canned-close', text: t('canned.close'), onclick: () => dlg.close() })));
  document.body.append(dlg);

  function edit(r) {
    editing = r;
    fShort.value = r ? r.shortcut : '';
    fTitle.value = r ? r.title : '';
    fText.value = r ? r.text : '';
    fShared.checked = !!(r && r.shared);
    fShared.disabled = !!r;
    sharedWrap.hidden = !(me && me.role === 'admin');
    saveBtn.textContent = r ? t('canned.save') : t('canned.create');
    errP.textContent = '';
  }

  function mayWrite(r) { return r.shared ? me && me.role === 'admin' : true; }

  async function refresh() {
    await load();
    rows.replaceChildren();
    if (!replies.length) rows.append(el('li', { class: 'muted small', text: t('canned.none_yet') }));
    for (const r of replies) {
      const w = mayWrite(r);
      rows.append(el('li', { 'data-shortcut': r.shortcut },
        el('span', { class: 'canned-short', text: '/' + r.shortcut }), ' ',
        el('span', { class: 'canned-title', text: r.title }), ' ',
        el('span', { class: 'canned-scope muted small', text: r.shared ? t('canned.shared') : t('canned.personal') }),
        w ? el('button', { type: 'button', class: 'link small', text: t('canned.edit'), 'aria-label': t('canned.edit_named', { name: r.shortcut }), onclick: () => edit(r) }) : null,
        w ? el('button', { type: 'button', class: 'link small', text: t('canned.delete'), 'aria-label': t('canned.delete_named', { name: r.shortcut }), onclick: () => remove(r) }) : null));
    }
  }

  async function remove(r) {
    if (!confirm(t('canned.delete_confirm', { name: r.shortcut }))) return;
    try { await api('DELETE', '/api/v1/canned_replies/' + encodeURIComponent(r.id)); await refresh(); edit(null); } catch (e) { errP.textContent = e.message; }
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    errP.textContent = '';
    const body = { shortcut: fShort.value.trim(), title: fTitle.value.trim(), text: fText.value };
    try {
      if (editing) await api('PATCH', '/api/v1/canned_replies/' + encodeURIComponent(editing.id), body);
      else await api('POST', '/api/v1/canned_replies', fShared.checked ? { ...body, shared: true } : body);
      await refresh();
      edit(null);
    } catch (e) { errP.textContent = e.message; }
  });
  newBtn.addEventListener('click', () => { edit(null); fShort.focus(); });

  const openBtn = el('button', { type: 'button', id: 'canned-open', class: 'link small', text: t('canned.manage'), title: t('canned.manage_hint') });
  openBtn.addEventListener('click', async () => {
    try { await session(); } catch (e) { /* shown below */ }
    edit(null);
    dlg.showModal();
    try { await refresh(); } catch (e) { errP.textContent = e.message; }
    fShort.focus();
  });
  const bar = document.querySelector('#composer .composer-bar .spacer');
  if (bar) bar.after(openBtn);

  // The language may change after these were built.
  document.addEventListener('sb-lang', () => {
    list.setAttribute('aria-label', t('canned.list'));
    openBtn.textContent = t('canned.manage'); openBtn.title = t('canned.manage_hint');
  });
}());
