// English, the catalogue every other language falls back to.
sbCatalogue('en', 'English', {
  'lang.label': 'Language',
});
