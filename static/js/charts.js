/*
 * Charts: the one plotly renderer of the pages (the comparison, a promotion). Draws the figures handed
 * over by json_script and loads the lazy charts (histories, trend, parallel coordinates) from the API when
 * they scroll into view. No inline code: everything hangs off data- attributes (strict CSP).
 *
 *   div[data-chart="json-script-id"]           a figure {data, layout, config}: the first on screen drawn
 *                                              at load, the others one per task once near the viewport
 *   section[data-lazy-chart]                   fetches [data-chart-url] + ?<[data-chart-param]>=value,
 *                                              renders the answer (or its .figure) into its .chart
 *     [data-plotly-addon="url"]                a plotly bundle registering trace types the page's plotly
 *                                              lacks (parallel coordinates): loaded once, beside the fetch
 */
(function () {
  "use strict";

  function readJson(id) {
    var el = document.getElementById(id);
    if (!el) return null;
    try {
      return JSON.parse(el.textContent);
    } catch (err) {
      return null;
    }
  }

  // plotly's own PNG button draws the SVG through a blob: image, which the CSP (img-src 'self' data:)
  // blocks; these buttons go through a data: URL instead. SVG downloads need no image at all.
  function download(href, filename) {
    var a = document.createElement("a");
    a.href = href;
    a.download = filename;
    document.body.appendChild(a);
    a.click();
    document.body.removeChild(a);
  }

  function downloadPng(gd, filename) {
    var width = gd._fullLayout.width;
    var height = gd._fullLayout.height;
    window.Plotly.toImage(gd, { format: "svg", width: width, height: height }).then(function (url) {
      var img = new Image();
      img.onload = function () {
        var scale = 2;
        var canvas = document.createElement("canvas");
        canvas.width = width * scale;
        canvas.height = height * scale;
        var ctx = canvas.getContext("2d");
        ctx.fillStyle = "#ffffff";
        ctx.fillRect(0, 0, canvas.width, canvas.height);
        ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
        download(canvas.toDataURL("image/png"), filename + ".png");
      };
      img.src = url;
    });
  }

  function downloadButtons(filename) {
    return [
      {
        name: "Download plot as PNG",
        icon: window.Plotly.Icons.camera,
        click: function (gd) {
          downloadPng(gd, filename);
        },
      },
      {
        name: "Download plot as SVG",
        icon: window.Plotly.Icons.disk,
        click: function (gd) {
          window.Plotly.downloadImage(gd, { format: "svg", filename: filename });
        },
      },
    ];
  }

  function render(el, spec) {
    if (!window.Plotly || !spec) return;
    var specConfig = spec.config || {};
    var filename = (specConfig.toImageButtonOptions || {}).filename || el.id || "chart";
    var layout = Object.assign(
      {
        margin: { l: 64, r: 24, t: 48, b: 64 },
        font: { family: getComputedStyle(document.body).fontFamily, size: 12, color: "#1d2330" },
        paper_bgcolor: "rgba(0,0,0,0)",
        plot_bgcolor: "rgba(0,0,0,0)",
        hovermode: "closest",
        hoverlabel: { namelength: -1 },
      },
      spec.layout || {}
    );
    var config = Object.assign(
      { responsive: true, displaylogo: false },
      specConfig,
      {
        modeBarButtonsToRemove: ["lasso2d", "select2d", "toImage"],
        modeBarButtonsToAdd: downloadButtons(filename),
      }
    );
    el.classList.remove("chart-loading");
    el.setAttribute("data-rendered", "1");
    return window.Plotly.react(el, spec.data || [], layout, config);
  }

  function drawEmbedded(el) {
    if (el.getAttribute("data-rendered")) return;
    render(el, readJson(el.getAttribute("data-chart")));
  }

  // After the next paint: a frame callback runs just before the browser paints, the timeout after it.
  function afterPaint(fn) {
    if (window.requestAnimationFrame) {
      window.requestAnimationFrame(function () {
        setTimeout(fn, 0);
      });
    } else {
      setTimeout(fn, 0);
    }
  }

  function inViewport(el) {
    var r = el.getBoundingClientRect();
    return r.bottom > 0 && r.top < (window.innerHeight || document.documentElement.clientHeight);
  }

  // Drawing a plotly figure takes 50-150 ms of main thread: the first chart on screen (or the first in the
  // page when none is) is drawn at once, the others one per task, each after the browser has painted, and
  // those off-screen only once they scroll near the viewport.
  function renderEmbedded() {
    var charts = Array.prototype.slice.call(document.querySelectorAll("[data-chart]"));
    if (!charts.length) return;
    var first = charts.filter(inViewport)[0] || charts[0];
    drawEmbedded(first);
    var queue = [];
    var scheduled = false;
    function drain() {
      scheduled = false;
      var el = queue.shift();
      if (el) drawEmbedded(el);
      if (queue.length) schedule();
    }
    function schedule() {
      if (scheduled) return;
      scheduled = true;
      afterPaint(drain);
    }
    function enqueue(el) {
      if (queue.indexOf(el) === -1 && !el.getAttribute("data-rendered")) queue.push(el);
      schedule();
    }
    var rest = charts.filter(function (el) {
      return el !== first;
    });
    whenNear(rest, "300px", enqueue);
  }

  // Calls fn(el) once for each element, when it first comes within margin of the viewport (at once
  // for all of them where the browser has no IntersectionObserver).
  function whenNear(elements, margin, fn) {
    if (!("IntersectionObserver" in window)) {
      elements.forEach(function (el) {
        fn(el);
      });
      return;
    }
    var observer = new IntersectionObserver(
      function (entries) {
        entries.forEach(function (entry) {
          if (entry.isIntersecting) {
            observer.unobserve(entry.target);
            fn(entry.target);
          }
        });
      },
      { rootMargin: margin }
    );
    elements.forEach(function (el) {
      observer.observe(el);
    });
  }

  // Scripts added on demand (from 'self', so the CSP allows them): one promise per URL, forgotten on failure
  // so that the next attempt loads it again.
  var scripts = {};
  function loadScript(src) {
    if (!scripts[src]) {
      scripts[src] = new Promise(function (resolve, reject) {
        var script = document.createElement("script");
        script.src = src;
        script.onload = resolve;
        script.onerror = function () {
          delete scripts[src];
          script.remove();
          reject(new Error("could not load " + src));
        };
        document.head.appendChild(script);
      });
    }
    return scripts[src];
  }

  function lazyUrl(section) {
    var base = section.querySelector("[data-chart-url]");
    if (!base) return null;
    var url = new URL(base.value, window.location.href);
    section.querySelectorAll("[data-chart-param]").forEach(function (input) {
      url.searchParams.set(input.getAttribute("data-chart-param"), input.value);
    });
    return url;
  }

  function loadLazy(section) {
    var chart = section.querySelector(".chart");
    var note = section.querySelector("[data-chart-note]");
    var url = lazyUrl(section);
    if (!chart || !url) return;
    chart.classList.add("chart-loading");
    if (note) note.textContent = "";
    var addon = section.getAttribute("data-plotly-addon");
    Promise.all([
      fetch(url.toString(), { credentials: "same-origin", headers: { Accept: "application/json" } }).then(
        function (response) {
          return response.json().then(function (body) {
            return { ok: response.ok, body: body };
          });
        }
      ),
      addon ? loadScript(addon) : null,
    ])
      .then(function (results) {
        return results[0];
      })
      .then(function (answer) {
        if (!answer.ok) {
          chart.classList.remove("chart-loading");
          if (window.Plotly && chart.getAttribute("data-rendered")) window.Plotly.purge(chart);
          chart.removeAttribute("data-rendered");
          if (note) note.textContent = answer.body.detail || "This chart could not be drawn.";
          return;
        }
        var figure = answer.body.figure || answer.body;
        render(chart, figure);
        var skipped = answer.body.skipped || {};
        var names = Object.keys(skipped);
        if (note && names.length) {
          note.textContent =
            "Not shown: " +
            names
              .map(function (name) {
                return name + " (" + skipped[name] + ")";
              })
              .join("; ");
        }
      })
      .catch(function (err) {
        chart.classList.remove("chart-loading");
        if (note) note.textContent = "This chart could not be loaded: " + err;
      });
  }

  function initLazy() {
    var sections = Array.prototype.slice.call(document.querySelectorAll("[data-lazy-chart]"));
    sections.forEach(function (section) {
      section.querySelectorAll("select").forEach(function (select) {
        select.addEventListener("change", function () {
          loadLazy(section);
        });
      });
    });
    whenNear(sections, "200px", loadLazy);
  }

  function init() {
    renderEmbedded();
    initLazy();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
