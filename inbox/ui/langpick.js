// The language switch (issue 19): every <select class="lang-pick"> lists
// the catalogues (i18n.js, one lang-CODE.js file each) and sets the
// agent's choice, remembered in this browser; the page redraws in place
// (the sb-lang event), with no reload.
'use strict';
(function () {
  const picks = document.querySelectorAll('select.lang-pick');
  for (const sel of picks) {
    for (const l of sbLanguages()) {
      const o = document.createElement('option');
      o.value = l.code;
      o.textContent = l.name;
      o.lang = l.code;
      sel.append(o);
    }
    sel.value = sbLang();
    sel.addEventListener('change', () => sbSetLang(sel.value, true));
  }
  document.addEventListener('sb-lang', () => { for (const sel of picks) sel.value = sbLang(); });
}());
