/*
 * Comparison page: the "only differences" toggle (the charts are static/js/charts.js's).
 *
 *   #only-diff                                 checkbox hiding rows whose values are all the same
 */
(function () {
  "use strict";

  function initOnlyDiff() {
    var box = document.getElementById("only-diff");
    var table = document.getElementById("compare-table");
    if (!box || !table) return;
    box.addEventListener("change", function () {
      table.classList.toggle("only-diff", box.checked);
      var url = new URL(window.location.href);
      if (box.checked) url.searchParams.set("only_diff", "1");
      else url.searchParams.delete("only_diff");
      window.history.replaceState(null, "", url.toString());
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", initOnlyDiff);
  } else {
    initOnlyDiff();
  }
})();
