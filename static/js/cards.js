// Model card editor: warn before leaving with unsaved edits (no inline handlers: CSP).
(function () {
  "use strict";
  const form = document.getElementById("card-editor");
  const source = document.getElementById("card-markdown");
  if (!form || !source) return;
  const initial = source.value;
  let submitting = false;
  form.addEventListener("submit", function () { submitting = true; });
  window.addEventListener("beforeunload", function (event) {
    if (!submitting && source.value !== initial) {
      event.preventDefault();
      event.returnValue = "";
    }
  });
})();
