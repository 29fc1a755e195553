/* Shared by the ESR nodes' edit dialogs (served by Node-RED from this package's resources folder). */
(function () {
  // A key an imported flow leaves out comes to the dialog as undefined, and a <select> given undefined shows no choice:
  // show the default the runtime uses for it instead (saved as such on Done, the same value the runtime read).
  window.esrShowDefaults = function (node) {
    const defaults = node._def.defaults;
    Object.keys(defaults).forEach(function (key) {
      if (node[key] !== undefined) return;
      const select = $('#node-input-' + key + ', #node-config-input-' + key).filter('select');
      if (select.length) select.val(defaults[key].value);
    });
  };
  // Fills a layout <select> with the built-in layouts (from the runtime), keeping the node's value.
  window.esrFillLayouts = function (select, value, withAuto) {
    $.getJSON('esr/layouts', function (layouts) {
      select.empty();
      if (withAuto) select.append($('<option>').val('auto').text('Detect from the file name'));
      layouts.forEach(function (l) {
        // Every layout is an ESR one: the title goes without the word, so that the choice shows whole.
        select.append($('<option>').val(l.id).text(l.id + ' — ' + l.title.replace(/^ESR /, '')).attr('title', l.title));
      });
      select.append($('<option>').val('file').text('Trust layout file…'));
      select.val(value || (withAuto ? 'auto' : 'ta')).trigger('change');
    });
    // The pack's example trust layout files, as suggestions for the layout-file field.
    $.getJSON('esr/layouts/examples', function (files) {
      var list = $('#esr-example-layouts');
      if (!list.length) list = $('<datalist id="esr-example-layouts">').appendTo('body');
      list.empty();
      files.forEach(function (f) {
        list.append($('<option>').val(f.file).text(f.title));
      });
      $('#node-input-layoutFile').attr('list', 'esr-example-layouts');
    });
  };
})();
