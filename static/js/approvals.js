/*
 * Promotion pages: renders the candidate-vs-holder chart handed over by json_script (no inline code: CSP).
 *   div[data-approvals-chart="json-script-id"]  a plotly figure {data, layout, config}
 */
(function () {
  "use strict";

  function renderCharts() {
    if (!window.Plotly) return;
    document.querySelectorAll("[data-approvals-chart]").forEach(function (el) {
      var source = document.getElementById(el.getAttribute("data-approvals-chart"));
      if (!source) return;
      var spec;
      try {
        spec = JSON.parse(source.textContent);
      } catch (err) {
        return;
      }
      window.Plotly.newPlot(el, spec.data || [], spec.layout || {}, Object.assign({ responsive: true, displaylogo: false }, spec.config || {}));
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", renderCharts);
  } else {
    renderCharts();
  }
})();
