/* fleetcheck: report.html's page around the fleet section (fleetcheck/report/html.py).
 * - pytest-html's filters and table go into the "pytest details" section at
 *   the bottom (#fc-pytest-body): existing nodes are moved, no HTML is ever parsed here;
 * - before printing, the failing findings' <details> are opened (and closed again
 *   after), so the paper has every failing record's text. */
(function () {
  "use strict";
  var box = document.getElementById("fc-pytest-body");
  var data = document.querySelector(".summary__data");
  if (box && data) {
    [".filter", ".summary__reload", ".controls"].forEach(function (sel) {
      var node = data.querySelector(":scope > " + sel);
      if (node) { box.appendChild(node); }
    });
    // pytest-html's table comes after this script in the page, and its script (at the
    // end) replaces it with the drawn one: that one is moved, once the page is parsed;
    // its later redraws replace it where it is
    document.addEventListener("DOMContentLoaded", function () {
      var table = document.getElementById("results-table");
      if (table) { box.appendChild(table); }
    });
  }
  var opened = [];
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("#fc-summary details:not([open])").forEach(function (d) {
      d.setAttribute("open", "");
      opened.push(d);
    });
  });
  window.addEventListener("afterprint", function () {
    opened.forEach(function (d) { d.removeAttribute("open"); });
    opened = [];
  });
})();
