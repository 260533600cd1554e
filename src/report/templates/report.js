// Request table filters: free text over the row, behavior, cache status, kind, failed only.
(function () {
  "use strict";
  var table = document.getElementById("request-table");
  if (!table) { return; }
  var rows = Array.prototype.slice.call(table.tBodies[0].rows);
  var q = document.getElementById("q");
  var fb = document.getElementById("f-behavior");
  var fc = document.getElementById("f-cache");
  var fk = document.getElementById("f-kind");
  var ff = document.getElementById("f-failed");
  var count = document.getElementById("count");
  var texts = rows.map(function (r) { return (r.textContent + " " + r.cells[0].title).toLowerCase(); });
  function apply() {
    var needle = q.value.trim().toLowerCase();
    var shown = 0;
    rows.forEach(function (r, i) {
      var ok = (!needle || texts[i].indexOf(needle) !== -1) &&
        (!fb.value || r.dataset.behavior === fb.value) &&
        (!fc.value || r.dataset.cache === fc.value) &&
        (!fk.value || r.dataset.kind === fk.value) &&
        (!ff.checked || r.dataset.failed === "1");
      r.hidden = !ok;
      if (ok) { shown += 1; }
    });
    count.textContent = shown + " of " + rows.length;
  }
  [q, fb, fc, fk, ff].forEach(function (el) { el.addEventListener("input", apply); el.addEventListener("change", apply); });
  apply();
})();
