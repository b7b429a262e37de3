// The Reports page (inbox/reports_ui.go) in the reader's language. Its
// texts are data-i18n (i18n.js, the inbox's catalogues); its figures are
// written by the server in English with the raw value in data-n and the
// kind in data-fmt, and formatted here for the chosen language with Intl,
// like the inbox: now, and again whenever the language changes.
'use strict';
(function () {
  const unit = (n, u, more) => sbFmt.number(n, Object.assign({ style: 'unit', unit: u, unitDisplay: 'narrow' }, more));
  // dur is a duration in seconds the way the inbox shows waiting times
  // ("19m 47s", "2h 5m"; "19 min 47 s", "2 t 5 min" in Finnish).
  function dur(s) {
    if (s >= 86400) return unit(Math.floor(s / 86400), 'day') + ' ' + unit(Math.floor((s % 86400) / 3600), 'hour');
    if (s >= 3600) return unit(Math.floor(s / 3600), 'hour') + ' ' + unit(Math.floor((s % 3600) / 60), 'minute');
    if (s >= 60) return unit(Math.floor(s / 60), 'minute') + ' ' + unit(s % 60, 'second');
    return unit(s, 'second');
  }
  const fmt = {
    int: (n) => sbFmt.number(n, { maximumFractionDigits: 0 }),
    dur,
    hours: (n) => unit(n, 'hour', { minimumFractionDigits: 1, maximumFractionDigits: 1 }),
    score: (n) => sbFmt.number(n, { minimumFractionDigits: 2, maximumFractionDigits: 2 }),
    pct: (n) => sbFmt.number(n, { style: 'percent', maximumFractionDigits: 0 }),
  };
  // A report's days are UTC days.
  const day = (d) => sbFmt.date(d + 'T00:00:00Z', { dateStyle: 'long', timeZone: 'UTC' });

  function draw() {
    document.querySelectorAll('[data-fmt]').forEach((el) => {
      const f = fmt[el.dataset.fmt];
      const n = Number(el.dataset.n);
      if (!f || el.dataset.n === '' || !Number.isFinite(n)) return;
      const v = f(n);
      el.textContent = el.dataset.label ? el.dataset.label + ': ' + v : v;
    });
    const p = document.getElementById('period');
    if (p) p.textContent = t('reports.period', { from: day(p.dataset.from), to: day(p.dataset.to) });
  }
  draw();
  document.addEventListener('sb-lang', draw);
}());
