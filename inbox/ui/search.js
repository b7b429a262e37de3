// The inbox's search box (issue 19): type, see ranked customers and
// messages with the matched words marked, open one. Every piece of text
// from the server is set with textContent: a message cannot inject markup.
// It asks app.js to open a conversation with the sb-open-conversation event.
'use strict';
(function () {
  const form = document.getElementById('search-form');
  const input = document.getElementById('search-q');
  const panel = document.getElementById('search-results');
  if (!form || !input || !panel) return;
  let gen = 0;
  let timer = 0;

  function el(tag, cls, text) {
    const n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined) n.textContent = text;
    return n;
  }

  // segments renders [{text, match}] as text with <mark> around matches.
  function segments(parent, segs) {
    for (const s of segs || []) parent.append(s.match ? el('mark', '', s.text) : document.createTextNode(s.text));
  }

  function close() {
    panel.hidden = true;
    input.setAttribute('aria-expanded', 'false');
  }

  let last = null; // the answer shown, drawn again when the language changes
  function render(res) {
    last = res;
    panel.replaceChildren();
    const custs = res.customers || [];
    const hits = res.hits || [];
    if (!custs.length && !hits.length) {
      panel.append(el('p', 'search-empty', t('search.none', { q: input.value.trim() })));
    }
    if (custs.length) {
      panel.append(el('h2', 'search-head', t('search.customers')));
      const ul = el('ul', 'search-customers');
      for (const c of custs) {
        const li = el('li', 'search-customer');
        li.dataset.id = c.id;
        li.append(el('span', 'search-name', c.name || c.id));
        for (const id of c.identities || []) li.append(el('span', 'search-ident', id.value));
        ul.append(li);
      }
      panel.append(ul);
    }
    if (hits.length) {
      panel.append(el('h2', 'search-head', t('search.messages')));
      const ol = el('ol', 'search-hits');
      ol.setAttribute('role', 'listbox');
      ol.setAttribute('aria-label', t('search.messages'));
      for (const h of hits) {
        const li = el('li', 'search-hit');
        li.setAttribute('role', 'option');
        li.tabIndex = 0;
        li.dataset.id = h.id;
        li.dataset.conversation = h.conversation_id || '';
        const meta = el('div', 'search-meta');
        meta.append(el('span', 'search-name', h.customer_name || h.customer_id),
          el('span', 'search-channel', h.channel),
          el('span', 'search-status', h.status ? t('status.' + h.status) : ''),
          el('time', 'search-at', sbFmt.date(h.at)));
        li.append(meta);
        if (h.subject && h.subject.length) {
          const s = el('div', 'search-subject');
          segments(s, h.subject);
          li.append(s);
        }
        const p = el('div', 'search-snippet');
        segments(p, h.snippet);
        li.append(p);
        ol.append(li);
      }
      panel.append(ol);
    }
    panel.hidden = false;
    input.setAttribute('aria-expanded', 'true');
  }

  async function run() {
    const q = input.value.trim();
    const mine = ++gen;
    if (!q) { close(); return; }
    const r = await fetch('/api/v1/search?limit=20&q=' + encodeURIComponent(q), { credentials: 'same-origin' });
    if (mine !== gen) return; // a newer query superseded this one
    const data = await r.json().catch(() => null);
    if (mine !== gen) return;
    if (!r.ok) {
      panel.replaceChildren(el('p', 'search-empty', (data && data.message) || r.statusText));
      panel.hidden = false;
      return;
    }
    render(data);
  }

  function open(li) {
    if (!li || !li.dataset.conversation) return;
    close();
    document.dispatchEvent(new CustomEvent('sb-open-conversation', { detail: li.dataset.conversation }));
  }

  document.addEventListener('sb-lang', () => { if (last && !panel.hidden) render(last); });
  input.setAttribute('aria-controls', 'search-results');
  input.setAttribute('aria-expanded', 'false');
  input.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(run, 200); });
  form.addEventListener('submit', (ev) => { ev.preventDefault(); clearTimeout(timer); run(); });
  input.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') { close(); input.blur(); ev.stopPropagation(); } // only the results close
    if (ev.key === 'ArrowDown') { const f = panel.querySelector('.search-hit'); if (f) { f.focus(); ev.preventDefault(); } }
  });
  panel.addEventListener('click', (ev) => open(ev.target.closest('.search-hit')));
  panel.addEventListener('keydown', (ev) => {
    const li = ev.target.closest('.search-hit');
    if (!li) return;
    if (ev.key === 'Enter') { open(li); ev.preventDefault(); }
    if (ev.key === 'Escape') { close(); input.focus(); ev.stopPropagation(); }
    if (ev.key === 'ArrowDown' && li.nextElementSibling) { li.nextElementSibling.focus(); ev.preventDefault(); }
    if (ev.key === 'ArrowUp') { (li.previousElementSibling || input).focus(); ev.preventDefault(); }
  });
  document.addEventListener('click', (ev) => { if (!panel.hidden && !panel.contains(ev.target) && ev.target !== input) close(); });
  // "/" focuses the box, as in most inboxes (not while typing elsewhere).
  document.addEventListener('keydown', (ev) => {
    const tg = ev.target;
    if (ev.key !== '/' || tg.closest && tg.closest('input, textarea, select, [contenteditable]')) return;
    input.focus();
    ev.preventDefault();
  });
})();
