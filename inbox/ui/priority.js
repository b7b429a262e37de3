// Conversation priority (issue 24): the priority control of the open
// conversation (none, low, medium, high, urgent), a PATCH of the
// conversation like assigning it. app.js shows the priority badge in the
// list and announces the conversation it shows with sb-conversation-shown.
'use strict';
(function () {
  const $ = (id) => document.getElementById(id);
  const pick = $('priority-set');
  if (!pick) return;
  let csrf = '';
  let conv = null;

  async function patch(id, body) {
    if (!csrf) {
      const s = await fetch('/api/v1/session', { credentials: 'same-origin' });
      if (s.ok) csrf = (await s.json()).csrf_token || '';
    }
    const r = await fetch('/api/v1/conversations/' + encodeURIComponent(id), {
      method: 'PATCH', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf }, body: JSON.stringify(body) });
    const text = await r.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
    if (!r.ok) throw new Error((data && (data.message || data.error)) || ('HTTP ' + r.status));
    return data;
  }

  function show() {
    pick.value = (conv && conv.priority) || 'none';
    pick.classList.toggle('prio-raised', !!conv && (conv.priority === 'high' || conv.priority === 'urgent'));
  }

  pick.addEventListener('change', async () => {
    if (!conv) return;
    $('macro-error').textContent = '';
    try {
      conv = await patch(conv.id, { priority: pick.value });
      show();
      document.dispatchEvent(new CustomEvent('sb-open-conversation', { detail: conv.id })); // app.js refreshes its head
    } catch (e) {
      $('macro-error').textContent = e.message;
      show();
    }
  });
  document.addEventListener('sb-conversation-shown', (ev) => { conv = ev.detail; show(); });
})();
