/*
 * Registry Governance — page glue. No framework, no inline code: everything is driven by data-
 * attributes and classes, so it works under the strict CSP (script-src 'self').
 *
 *   data-confirm="Text"          on a form, a submit button, a link or a button: asks before acting
 *                                (also stops htmx requests from that element when the user cancels)
 *   data-copy="text"             button copies that text; data-copy="" + data-copy-target="#id"
 *                                copies the target's value/text instead
 *   data-autosubmit              on a select/input (or on a form: all its fields) submits the form
 *                                on change; elements with .js-hide (e.g. an "Apply" button) are hidden
 *   <time class="reltime" datetime="ISO-8601">   shows "3 min ago", absolute time in the title
 *   data-check-all="name"        checkbox toggling every checkbox named "name" in the same form
 *                                (or the document when it is outside a form)
 *   data-dismiss                 button inside an .alert (or data-dismiss="#id") removes it
 *   (plotly charts: static/js/charts.js)
 *
 * Everything is (re)applied to content swapped in by htmx (htmx:load).
 */
(function () {
  "use strict";

  var root = document.documentElement;
  root.classList.remove("no-js");
  root.classList.add("js");

  function matches(el, selector) {
    return el && el.nodeType === 1 && el.matches(selector);
  }

  function closest(el, selector) {
    return el && el.nodeType === 1 ? el.closest(selector) : null;
  }

  function queryAll(scope, selector) {
    var found = Array.prototype.slice.call(scope.querySelectorAll(selector));
    if (matches(scope, selector)) found.unshift(scope);
    return found;
  }

  /* Confirm ----------------------------------------------------------------------------------- */
  // Capture phase on the document runs before htmx's listeners on the element, so stopping the
  // event here also stops an hx-post/hx-delete on the same element.

  function isFormSubmitter(el) {
    return (
      el.form &&
      ((el.tagName === "BUTTON" && (el.type || "submit") === "submit") ||
        (el.tagName === "INPUT" && (el.type === "submit" || el.type === "image")))
    );
  }

  function hasHtmxRequest(el) {
    return ["get", "post", "put", "patch", "delete"].some(function (verb) {
      return el.hasAttribute("hx-" + verb) || el.hasAttribute("data-hx-" + verb);
    });
  }

  document.addEventListener(
    "click",
    function (event) {
      var el = closest(event.target, "[data-confirm]");
      if (!el || el.tagName === "FORM") return;
      // Plain submit buttons are asked once, in the submit handler below.
      if (isFormSubmitter(el) && !hasHtmxRequest(el)) return;
      if (!window.confirm(el.getAttribute("data-confirm"))) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
    },
    true
  );

  document.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      var submitter = event.submitter || null;
      var message =
        (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
      if (message && !window.confirm(message)) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
    },
    true
  );

  /* Copy to clipboard ------------------------------------------------------------------------- */

  function copyFallback(text) {
    var buffer = document.createElement("textarea");
    buffer.className = "copy-buffer";
    buffer.setAttribute("readonly", "");
    buffer.value = text;
    document.body.appendChild(buffer);
    buffer.select();
    var ok = false;
    try {
      ok = document.execCommand("copy");
    } catch (err) {
      ok = false;
    }
    document.body.removeChild(buffer);
    return ok ? Promise.resolve() : Promise.reject(new Error("copy failed"));
  }

  function copyText(text) {
    // The async clipboard API exists only in secure contexts (https or localhost).
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () {
        return copyFallback(text);
      });
    }
    return copyFallback(text);
  }

  function flash(el, cls, label) {
    var original = el.getAttribute("data-copy-label") || el.textContent;
    if (!el.getAttribute("data-copy-label")) el.setAttribute("data-copy-label", original);
    el.classList.add(cls);
    if (label && el.children.length === 0) el.textContent = label;
    el.setAttribute("aria-live", "polite");
    window.clearTimeout(el._rgFlash);
    el._rgFlash = window.setTimeout(function () {
      el.classList.remove(cls);
      if (label && el.children.length === 0) el.textContent = original;
    }, 1500);
  }

  document.addEventListener("click", function (event) {
    var el = closest(event.target, "[data-copy]");
    if (!el) return;
    event.preventDefault();
    var text = el.getAttribute("data-copy");
    var targetSelector = el.getAttribute("data-copy-target");
    if (!text && targetSelector) {
      var target = document.querySelector(targetSelector);
      if (target) text = matches(target, "input, textarea, select") ? target.value : target.textContent;
    }
    if (!text) return;
    copyText(text.trim()).then(
      function () {
        flash(el, "copied", "Copied");
      },
      function () {
        flash(el, "copy-failed", "Copy failed");
      }
    );
  });

  /* Auto-submit filters ----------------------------------------------------------------------- */

  document.addEventListener("change", function (event) {
    var field = event.target;
    if (!field.form) return;
    var wanted = matches(field, "[data-autosubmit]") || matches(field.form, "form[data-autosubmit]");
    if (!wanted || matches(field, "[data-check-all]")) return;
    // Changing a filter means starting again from page 1.
    var page = field.form.querySelector("input[name=page]");
    if (page) page.value = "";
    if (field.form.requestSubmit) field.form.requestSubmit();
    else field.form.submit();
  });

  /* Relative times ---------------------------------------------------------------------------- */

  var UNITS = [
    ["year", 365 * 24 * 3600],
    ["month", 30 * 24 * 3600],
    ["week", 7 * 24 * 3600],
    ["day", 24 * 3600],
    ["hour", 3600],
    ["minute", 60],
    ["second", 1],
  ];
  // Made on first use: building Intl formatters costs a fresh page tens of ms, and most pages show no times.
  var formats = null;
  function getFormats() {
    if (!formats) {
      formats = {
        rel:
          window.Intl && Intl.RelativeTimeFormat
            ? new Intl.RelativeTimeFormat(undefined, { numeric: "auto" })
            : null,
        abs:
          window.Intl && Intl.DateTimeFormat
            ? new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "long" })
            : null,
      };
    }
    return formats;
  }

  function relativeText(date) {
    var seconds = Math.round((date.getTime() - Date.now()) / 1000);
    var abs = Math.abs(seconds);
    if (abs < 45) return "just now";
    for (var i = 0; i < UNITS.length; i++) {
      var unit = UNITS[i];
      if (abs >= unit[1] || unit[0] === "second") {
        var value = Math.round(seconds / unit[1]);
        var relFormat = getFormats().rel;
        if (relFormat) return relFormat.format(value, unit[0]);
        var n = Math.abs(value);
        var label = n + " " + unit[0] + (n === 1 ? "" : "s");
        return value < 0 ? label + " ago" : "in " + label;
      }
    }
    return "";
  }

  function updateTimes(scope) {
    queryAll(scope, "time.reltime[datetime]").forEach(function (el) {
      var date = new Date(el.getAttribute("datetime"));
      if (isNaN(date.getTime())) return;
      if (!el.hasAttribute("title")) {
        var absFormat = getFormats().abs;
        el.setAttribute("title", absFormat ? absFormat.format(date) : date.toString());
      }
      el.textContent = relativeText(date);
    });
  }

  /* Check all --------------------------------------------------------------------------------- */

  function boxesFor(master) {
    var name = master.getAttribute("data-check-all");
    var scope = master.form || document;
    return Array.prototype.filter.call(
      scope.querySelectorAll('input[type="checkbox"]'),
      function (box) {
        return box.name === name && box !== master && !box.disabled;
      }
    );
  }

  var bulkChecking = false;

  function syncMaster(master) {
    var boxes = boxesFor(master);
    var checked = boxes.filter(function (box) {
      return box.checked;
    }).length;
    master.checked = boxes.length > 0 && checked === boxes.length;
    master.indeterminate = checked > 0 && checked < boxes.length;
  }

  document.addEventListener("change", function (event) {
    var el = event.target;
    if (matches(el, "input[type=checkbox][data-check-all]")) {
      var wanted = el.checked;
      bulkChecking = true;
      try {
        boxesFor(el).forEach(function (box) {
          if (box.checked !== wanted) {
            box.checked = wanted;
            // Let other listeners (selection counters, htmx triggers) see the change.
            box.dispatchEvent(new Event("change", { bubbles: true }));
          }
        });
      } finally {
        bulkChecking = false;
      }
      syncMaster(el);
      return;
    }
    if (!bulkChecking && matches(el, "input[type=checkbox]") && el.name) {
      var scope = el.form || document;
      Array.prototype.forEach.call(scope.querySelectorAll("input[type=checkbox][data-check-all]"), function (m) {
        if (m.getAttribute("data-check-all") === el.name) syncMaster(m);
      });
    }
  });

  function initCheckAll(scope) {
    queryAll(scope, "input[type=checkbox][data-check-all]").forEach(syncMaster);
  }

  /* Dismissible alerts ------------------------------------------------------------------------ */

  document.addEventListener("click", function (event) {
    var el = closest(event.target, "[data-dismiss]");
    if (!el) return;
    var selector = el.getAttribute("data-dismiss");
    var target = selector ? document.querySelector(selector) : el.closest(".alert");
    if (target) target.remove();
  });

  /* htmx errors ------------------------------------------------------------------------------- */

  function toast(message, tone) {
    var area = document.getElementById("toasts");
    if (!area) return;
    var alert = document.createElement("div");
    alert.className = "alert alert-" + (tone || "danger");
    alert.setAttribute("role", "alert");
    var body = document.createElement("div");
    body.className = "alert-body";
    body.textContent = message;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "alert-close";
    close.setAttribute("data-dismiss", "");
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "\u00d7";
    alert.appendChild(body);
    alert.appendChild(close);
    area.appendChild(alert);
    window.setTimeout(function () {
      alert.remove();
    }, 8000);
  }

  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail && event.detail.xhr;
    var status = xhr ? xhr.status : "";
    var text =
      status === 403
        ? "You do not have permission to do that."
        : status === 404
          ? "Not found — it may have been removed."
          : "The server could not complete the request (" + status + ").";
    toast(text, "danger");
  });
  document.addEventListener("htmx:sendError", function () {
    toast("Network error: the server could not be reached.", "warn");
  });

  /* Init -------------------------------------------------------------------------------------- */

  function init(scope) {
    updateTimes(scope);
    initCheckAll(scope);
  }

  // Deferred: the document is parsed when this runs (or about to be, on DOMContentLoaded).
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      init(document.body);
    });
  } else {
    init(document.body);
  }
  document.addEventListener("htmx:load", function (event) {
    if (event.target && event.target !== document.body) init(event.target);
  });
  window.setInterval(function () {
    updateTimes(document.body);
  }, 60 * 1000);
})();
