// Dialogs for keyboard and screen-reader users (issue 19): sbDialog.open
// makes an element a modal dialog (role=dialog, aria-modal): focus moves
// into it, Tab and Shift+Tab stay inside, Escape closes it, and focus goes
// back to what opened it. The customer panel is one on screens too narrow
// to show it beside the conversation (app.css hides it there).
'use strict';
(function () {
  const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), iframe, [tabindex]:not([tabindex="-1"])';
  const visible = (n) => !!(n.offsetWidth || n.offsetHeight || n.getClientRects().length);
  let open = null; // { box, opener, onClose }

  function close() {
    if (!open) return;
    const { box, opener, onClose } = open;
    open = null;
    box.removeEventListener('keydown', onKey);
    box.classList.remove('dialog');
    box.removeAttribute('role');
    box.removeAttribute('aria-modal');
    if (onClose) onClose();
    if (opener && visible(opener)) opener.focus();
  }

  function onKey(ev) {
    if (!open) return;
    if (ev.key === 'Escape') { ev.preventDefault(); ev.stopPropagation(); close(); return; }
    if (ev.key !== 'Tab') return;
    const items = [...open.box.querySelectorAll(FOCUSABLE)].filter(visible);
    if (!items.length) { ev.preventDefault(); return; }
    const first = items[0];
    const last = items[items.length - 1];
    if (ev.shiftKey && document.activeElement === first) { last.focus(); ev.preventDefault(); }
    else if (!ev.shiftKey && document.activeElement === last) { first.focus(); ev.preventDefault(); }
  }

  window.sbDialog = {
    open(box, opener, onClose) {
      close();
      open = { box, opener, onClose };
      box.classList.add('dialog');
      box.setAttribute('role', 'dialog');
      box.setAttribute('aria-modal', 'true');
      box.addEventListener('keydown', onKey);
      const first = [...box.querySelectorAll(FOCUSABLE)].find(visible);
      (first || box).focus();
    },
    close,
  };

  // Focus that leaves an open dialog (a click outside it) closes it.
  document.addEventListener('focusin', (ev) => { if (open && !open.box.contains(ev.target)) close(); });

  const pane = document.getElementById('cust-pane');
  const opener = document.getElementById('cust-open');
  const closer = document.getElementById('cust-close');
  if (!pane || !opener || !closer) return;
  opener.addEventListener('click', () => sbDialog.open(pane, opener));
  closer.addEventListener('click', close);
  // Another conversation, or the list again: the panel closes with it.
  document.addEventListener('sb-conversation-shown', (ev) => { if (open && open.box === pane && pane.dataset.conv !== ev.detail.id) close(); pane.dataset.conv = ev.detail.id; });
}());

// Wide admin tables on a phone (app.css, under 700 px): each row becomes a
// card of "Header: value" lines, so nothing scrolls sideways. Each cell of
// a table.stack gets its column's header as data-label (shown by CSS), again
// whenever rows are drawn or the language changes; explicit table roles keep
// the rows a table for screen readers whatever their CSS display is.
(function () {
  const tables = [...document.querySelectorAll('table.stack')];
  if (!tables.length) return;
  function label(table) {
    const head = table.tHead && table.tHead.rows[0];
    if (!head) return;
    const names = [...head.cells].map((c) => c.textContent.trim());
    table.setAttribute('role', 'table');
    for (const g of [table.tHead, ...table.tBodies]) g.setAttribute('role', 'rowgroup');
    for (const row of table.rows) {
      row.setAttribute('role', 'row');
      [...row.cells].forEach((c, i) => {
        if (c.tagName === 'TH') { c.setAttribute('role', 'columnheader'); return; }
        c.setAttribute('role', 'cell');
        if (names[i]) c.dataset.label = names[i]; else delete c.dataset.label;
      });
    }
  }
  for (const table of tables) {
    label(table);
    new MutationObserver(() => label(table)).observe(table, { childList: true, subtree: true });
  }
  document.addEventListener('sb-lang', () => tables.forEach(label));
}());
