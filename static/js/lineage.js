/* The lineage graph (templates/lineage/version.html): cytoscape.js draws the JSON embedded in the page at the
   positions the server computed (lineage/layout.py, `preset` layout). Edges are drawn in the direction data flows
   (dataset → run → version → targets), so a node's downstream path is its successors and its upstream path its
   predecessors. No inline scripts or styles (the CSP): the side panel is built with textContent. */
(function () {
  "use strict";

  var COLOURS = {
    dataset: "#2f855a", code: "#6b7483", run: "#2557d6", model_version: "#b7791f",
    registered_model: "#805ad5", target: "#c53030", promotion: "#319795", logged_model: "#d53f8c",
    package: "#975a16"
  };
  var SHAPES = {
    dataset: "barrel", code: "tag", run: "ellipse", model_version: "round-rectangle",
    registered_model: "hexagon", target: "diamond", promotion: "octagon", logged_model: "cut-rectangle",
    package: "rectangle"
  };
  // Edges whose data flows from their target to their source (lineage/layout.py, REVERSED).
  var REVERSED = { trained_on: true, evaluated_on: true, built_from: true, child_of: true };

  function elements(graph) {
    var out = [];
    graph.nodes.forEach(function (n) {
      out.push({ group: "nodes", data: { id: n.id, label: n.label, type: n.type, node: n },
                 position: { x: n.position.x, y: n.position.y }, classes: n.type });
    });
    graph.edges.forEach(function (e, i) {
      var flip = REVERSED[e.type] === true;
      out.push({ group: "edges", data: { id: "e" + i, source: flip ? e.target : e.source,
                 target: flip ? e.source : e.target, label: e.type, edge: e } });
    });
    return out;
  }

  function style() {
    var rules = [
      { selector: "node", style: { label: "data(label)", "font-size": 11, "text-valign": "bottom",
        "text-margin-y": 4, "text-max-width": 180, "text-wrap": "ellipsis", width: 28, height: 28,
        "border-width": 1, "border-color": "#1d2330", "min-zoomed-font-size": 6 } },
      { selector: "edge", style: { width: 1.5, "line-color": "#a0a8b5", "target-arrow-color": "#a0a8b5",
        "target-arrow-shape": "triangle", "curve-style": "bezier", "arrow-scale": 0.8 } },
      { selector: "node:selected", style: { "border-width": 4, "border-color": "#1d2330" } },
      { selector: ".faded", style: { opacity: 0.18 } },
      { selector: "node.path", style: { "border-width": 4, "border-color": "#f6ad55" } },
      { selector: "edge.path", style: { width: 3, "line-color": "#dd6b20", "target-arrow-color": "#dd6b20" } }
    ];
    Object.keys(COLOURS).forEach(function (t) {
      rules.push({ selector: "node." + t, style: { "background-color": COLOURS[t], shape: SHAPES[t] } });
    });
    return rules;
  }

  function text(value) {
    if (value === null || value === undefined || value === "") { return "—"; }
    if (typeof value === "object") { return JSON.stringify(value); }
    return String(value);
  }

  function download(blob, filename) {
    var url = URL.createObjectURL(blob);
    var a = document.createElement("a");
    a.href = url;
    a.download = filename;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
  }

  function init() {
    var box = document.getElementById("lineage-graph");
    var source = document.getElementById("lineage-data");
    if (!box || !source || typeof window.cytoscape !== "function") { return; }
    var graph = JSON.parse(source.textContent);
    var cy = window.cytoscape({
      container: box, elements: elements(graph), style: style(), layout: { name: "preset", fit: true, padding: 30 },
      minZoom: 0.05, maxZoom: 4, wheelSensitivity: 0.3, textureOnViewport: graph.nodes.length > 300
    });
    window.lineageCy = cy; // for the browser tests and the benchmark
    var current = null;
    var title = document.getElementById("lineage-side-title");
    var hint = document.getElementById("lineage-side-hint");
    var attrs = document.getElementById("lineage-side-attrs");
    var links = document.getElementById("lineage-side-links");
    var pathButtons = document.getElementById("lineage-side-path");

    function clearPath() {
      cy.elements().removeClass("path faded");
      box.dataset.highlight = "";
    }

    function show(node) {
      current = node;
      var n = node.data("node");
      title.textContent = n.label;
      hint.textContent = n.type.replace("_", " ") + " · " + n.id;
      attrs.replaceChildren();
      Object.keys(n.attrs).forEach(function (key) {
        var dt = document.createElement("dt");
        dt.textContent = key.replace(/_/g, " ");
        var dd = document.createElement("dd");
        dd.textContent = text(n.attrs[key]);
        dd.dataset.attr = key;
        attrs.append(dt, dd);
      });
      links.replaceChildren();
      (n.links || []).forEach(function (link) {
        var li = document.createElement("li");
        var a = document.createElement("a");
        a.href = link.href;
        a.textContent = link.label + " →";
        li.append(a);
        links.append(li);
      });
      pathButtons.hidden = false;
    }

    function highlight(direction) {
      if (!current) { return; }
      clearPath();
      var path = direction === "down" ? current.successors() : current.predecessors();
      path = path.union(current);
      cy.elements().not(path).addClass("faded");
      path.addClass("path");
      box.dataset.highlight = direction;
    }

    cy.on("tap", "node", function (evt) { show(evt.target); });
    document.getElementById("lineage-upstream").addEventListener("click", function () { highlight("up"); });
    document.getElementById("lineage-downstream").addEventListener("click", function () { highlight("down"); });
    document.getElementById("lineage-clear").addEventListener("click", clearPath);
    document.getElementById("lineage-fit").addEventListener("click", function () { cy.fit(undefined, 30); });
    document.getElementById("lineage-png").addEventListener("click", function () {
      download(cy.png({ output: "blob", full: true, scale: 2, bg: "#ffffff" }), box.dataset.filename + ".png");
    });
    document.getElementById("lineage-json").addEventListener("click", function () {
      download(new Blob([JSON.stringify(graph, null, 2)], { type: "application/json" }), box.dataset.filename + ".json");
    });
    document.querySelectorAll("#lineage-filters input[type=checkbox]").forEach(function (box_) {
      box_.addEventListener("change", function () {
        var nodes = cy.nodes("." + box_.value);
        if (box_.checked) { nodes.style("display", "element"); } else { nodes.style("display", "none"); }
      });
    });
    cy.ready(function () { box.dataset.ready = "1"; });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
