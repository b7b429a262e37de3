// Suomi.
sbCatalogue('fi', 'Suomi', {
  'lang.label': 'Kieli',
});
