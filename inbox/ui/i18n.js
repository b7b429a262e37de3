// Languages of the inbox. Every string the UI shows comes from a message
// catalogue: t('key', {name: 'Ann'}) returns the text in the agent's
// language, falling back to English and then to the key itself. Each
// catalogue is one file, ui/lang-CODE.js, calling
//   sbCatalogue('fi', 'Suomi', { 'key': 'teksti {name}', ... });
// the server serves every lang-*.js file together as /ui/langs.js, so adding
// a language is adding one file. Static markup names its strings with
// data-i18n (text, its {placeholders} from data-i18n-vars, JSON),
// data-i18n-placeholder, data-i18n-title and data-i18n-aria-label;
// sbApplyLang(root) fills them in. Dates and numbers
// are formatted for the chosen language with Intl (sbFmt).
(function () {
  'use strict';
  const cats = {};
  let lang = 'en';
  const stored = () => { try { return localStorage.getItem('sb-lang'); } catch (e) { return null; } };

  window.sbCatalogue = (code, name, msgs) => { cats[code] = { name, msgs }; };
  window.sbLanguages = () => Object.keys(cats).sort().map((c) => ({ code: c, name: cats[c].name }));
  window.sbLang = () => lang;

  window.t = (key, vars) => {
    let s = (cats[lang] && cats[lang].msgs[key]) ?? (cats.en && cats.en.msgs[key]) ?? key;
    if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
    return s;
  };

  // vars are an element's data-i18n-vars (JSON) for its message's
  // {placeholders}, numbers formatted for the language.
  const vars = (el) => {
    if (!el.dataset.i18nVars) return undefined;
    let v;
    try { v = JSON.parse(el.dataset.i18nVars); } catch (e) { return undefined; }
    for (const k in v) if (typeof v[k] === 'number') v[k] = sbFmt.number(v[k]);
    return v;
  };
  window.sbApplyLang = (root) => {
    root = root || document;
    root.querySelectorAll('[data-i18n]').forEach((el) => { el.textContent = t(el.dataset.i18n, vars(el)); });
    for (const attr of ['placeholder', 'title', 'aria-label']) {
      root.querySelectorAll('[data-i18n-' + attr + ']').forEach((el) => { el.setAttribute(attr, t(el.getAttribute('data-i18n-' + attr))); });
    }
  };

  // sbChooseLang picks the stored choice, else the browser's first language that
  // has a catalogue, else English.
  window.sbChooseLang = () => {
    const want = [stored(), ...(navigator.languages || [navigator.language])].filter(Boolean);
    for (const w of want) {
      const c = w.toLowerCase().split('-')[0];
      if (cats[c]) return c;
    }
    return 'en';
  };

  window.sbSetLang = (code, remember) => {
    if (!cats[code]) return;
    lang = code;
    if (remember) { try { localStorage.setItem('sb-lang', code); } catch (e) { /* private mode */ } }
    document.documentElement.lang = code;
    sbApplyLang(document);
    document.dispatchEvent(new CustomEvent('sb-lang', { detail: code }));
  };

  // locale is the browser's own variant of the chosen language when it has
  // one (en-GB writes "7 Dec, 14:05", en-US "Dec 7, 2:05 PM"), else the
  // language itself.
  const locale = () => (navigator.languages || [navigator.language]).find((l) => l && l.toLowerCase().split('-')[0] === lang) || lang;
  window.sbFmt = {
    date: (d, opts) => new Intl.DateTimeFormat(locale(), opts || { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(d)),
    number: (n, opts) => new Intl.NumberFormat(locale(), opts).format(n),
    relative: (n, unit) => new Intl.RelativeTimeFormat(locale(), { numeric: 'auto' }).format(n, unit),
  };

  // The catalogues (langs.js, deferred) load after this file and before
  // app.js; the server ends langs.js with sbSetLang(sbChooseLang()), so the
  // language is set before the app draws anything.
}());
