/* Shared by the ESR nodes' edit dialogs (served by Node-RED from this package's resources folder). */
(function () {
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
