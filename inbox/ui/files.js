// Files on replies (issue 19): a file button and drag and drop onto the
// composer attach files to a reply, on channels that can send them (the
// channel list says so: "attachments"); each file shows as a chip with its
// name, size and a remove button. The limits are the server's
// (inbox/conversations.go MaxReplyAttachments*; a test keeps them equal)
// and a file past them is refused here with a clear message. app.js asks
// sbComposerAttachments() for the files when it sends a reply and fires
// sb-reply-sent after it was accepted.
'use strict';
(function () {
  const $ = (id) => document.getElementById(id);
  const composer = $('composer');
  if (!composer) return;
  const MAX_FILES = 20;
  const MAX_FILE_BYTES = 10 << 20;
  const MAX_TOTAL_BYTES = 25 << 20;

  let files = [];
  let channels = null;
  let conv = null;

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
  const size = (n) => n < 1024 * 1024
    ? t('files.size_kb', { n: sbFmt.number(Math.max(1, Math.ceil(n / 1024))) })
    : t('files.size_mb', { n: sbFmt.number(n / 1048576, { maximumFractionDigits: 1 }) });

  // The button opens the browser's file picker through this hidden input.
  const input = el('input', { type: 'file', id: 'attach-input', multiple: true, hidden: true, 'aria-label': t('files.attach') });
  const button = el('button', { type: 'button', id: 'attach-button', text: t('files.attach'), title: t('files.attach_hint') });
  const chips = el('ul', { id: 'attach-chips', class: 'attach-chips', 'aria-label': t('files.list') });
  const note = el('p', { id: 'attach-error', class: 'error small', role: 'alert' });
  const foot = composer.querySelector('.composer-foot');
  foot.before(chips);
  foot.prepend(button, input);
  foot.after(note);

  async function loadChannels() {
    try {
      const r = await fetch('/api/v1/channels', { credentials: 'same-origin' });
      if (r.ok) channels = (await r.json()).channels || [];
    } catch (e) { channels = null; }
  }

  // allowed: a reply (not a note) on a channel that can send files.
  function allowed() {
    if (composer.classList.contains('note') || !conv || !channels) return false;
    const name = $('reply-channel').value || conv.channel;
    const ch = channels.find((c) => c.name === name);
    return !!(ch && ch.attachments);
  }

  function refresh() {
    const ok = allowed();
    button.hidden = !ok;
    if (composer.classList.contains('can-attach') !== ok) composer.classList.toggle('can-attach', ok);
    if (files.length && !ok) note.textContent = t('files.channel_cannot');
    else if (note.dataset.kind === 'channel') note.textContent = '';
    note.dataset.kind = files.length && !ok ? 'channel' : '';
    chips.replaceChildren(...files.map((f, i) => el('li', { class: 'attach-chip', 'data-name': f.name },
      el('span', { class: 'attach-name', text: f.name }), ' ',
      el('span', { class: 'attach-size muted small', text: size(f.size) }),
      el('button', { type: 'button', class: 'attach-remove', text: '×', title: t('files.remove', { name: f.name }), 'aria-label': t('files.remove', { name: f.name }),
        onclick: () => { files.splice(i, 1); refresh(); button.focus(); } }))));
    chips.hidden = files.length === 0;
  }

  function add(list) {
    note.textContent = '';
    if (!allowed()) { note.textContent = t('files.channel_cannot'); note.dataset.kind = ''; return; }
    let total = files.reduce((s, f) => s + f.size, 0);
    for (const f of list) {
      let why = '';
      if (files.length >= MAX_FILES) why = t('files.too_many', { max: MAX_FILES });
      else if (f.size === 0) why = t('files.empty', { name: f.name });
      else if (f.size > MAX_FILE_BYTES) why = t('files.too_large', { name: f.name, max: size(MAX_FILE_BYTES) });
      else if (total + f.size > MAX_TOTAL_BYTES) why = t('files.total_too_large', { name: f.name, max: size(MAX_TOTAL_BYTES) });
      if (why) { note.textContent = why; continue; }
      files.push(f);
      total += f.size;
    }
    refresh();
  }

  button.addEventListener('click', () => input.click());
  input.addEventListener('change', () => { add(Array.from(input.files || [])); input.value = ''; });
  const hasFiles = (ev) => ev.dataTransfer && Array.from(ev.dataTransfer.types || []).includes('Files');
  composer.addEventListener('dragover', (ev) => {
    if (!hasFiles(ev)) return;
    ev.preventDefault();
    ev.dataTransfer.dropEffect = allowed() ? 'copy' : 'none';
    composer.classList.add('drop-over');
  });
  composer.addEventListener('dragleave', (ev) => { if (!composer.contains(ev.relatedTarget)) composer.classList.remove('drop-over'); });
  composer.addEventListener('drop', (ev) => {
    composer.classList.remove('drop-over');
    if (!hasFiles(ev)) return;
    ev.preventDefault();
    add(Array.from(ev.dataTransfer.files || []));
  });

  function base64(f) {
    return new Promise((resolve, reject) => {
      const r = new FileReader();
      r.onload = () => { const s = String(r.result); resolve(s.slice(s.indexOf(',') + 1)); };
      r.onerror = () => reject(new Error(t('files.unreadable', { name: f.name })));
      r.readAsDataURL(f);
    });
  }

  // The reply's attachments as the API takes them (base64 in "data").
  window.sbComposerHasFiles = () => files.length > 0;
  window.sbComposerAttachments = async () => Promise.all(files.map(async (f) => ({ name: f.name, content_type: f.type || '', data: await base64(f) })));

  document.addEventListener('sb-reply-sent', () => { files = []; note.textContent = ''; refresh(); });
  document.addEventListener('sb-conversation-shown', async (ev) => {
    if (!conv || conv.id !== ev.detail.id) { files = []; note.textContent = ''; }
    conv = ev.detail;
    if (!channels) await loadChannels();
    refresh();
  });
  $('reply-channel').addEventListener('change', refresh);
  new MutationObserver(refresh).observe(composer, { attributes: true, attributeFilter: ['class'] });
  new MutationObserver(refresh).observe($('reply-channel'), { childList: true });
  document.addEventListener('sb-lang', () => {
    button.textContent = t('files.attach'); button.title = t('files.attach_hint');
    chips.setAttribute('aria-label', t('files.list'));
    refresh();
  });
  refresh();
}());
