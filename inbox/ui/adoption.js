// The Adoption page (inbox/adoption_ui.go) in the reader's language. Its
// texts are data-i18n (i18n.js, the inbox's catalogues); its figures are
// written by the server in English with the raw value in data-n and the
// kind in data-fmt, its times in data-t, its phase changes in data-from,
// data-to and data-by; all are written here again for the chosen language
// with Intl: now, and whenever the language changes.
'use strict';
(function () {
  const pct = (n) => sbFmt.number(n, { style: 'percent', maximumFractionDigits: 0 });
  const fmt = {
    int: (n) => sbFmt.number(n, { maximumFractionDigits: 0 }),
    dec: (n) => sbFmt.number(n, { maximumFractionDigits: 2 }),
    pct,
  };
  // A figure's day is a UTC day ("2026-12-07"); a phase change's time is
  // shown in UTC, as the hub records it.
  const day = (d) => sbFmt.date(d + 'T00:00:00Z', { dateStyle: 'medium', timeZone: 'UTC' });
  const when = (s) => sbFmt.date(s, { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' }) + ' UTC';
  const phase = (p) => t('phase.' + p);

  function draw() {
    document.querySelectorAll('[data-fmt]').forEach((el) => {
      if (el.dataset.fmt === 'pctRange') { el.textContent = pct(0) + '–' + pct(1); return; }
      const f = fmt[el.dataset.fmt];
      const n = Number(el.dataset.n);
      if (!f || el.dataset.n === '' || !Number.isFinite(n)) return;
      el.textContent = el.dataset.day ? day(el.dataset.day) + ': ' + f(n) : f(n);
    });
    document.querySelectorAll('time[data-t]').forEach((el) => { el.textContent = when(el.dataset.t); });
    document.querySelectorAll('.change[data-from]').forEach((el) => {
      el.textContent = t('adoption.change', { from: phase(el.dataset.from), to: phase(el.dataset.to), by: el.dataset.by });
    });
  }
  draw();
  document.addEventListener('sb-lang', draw);
}());
