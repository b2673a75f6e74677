// proctor portal: the little behaviour the pages need, without a framework.
// The server validates everything again; this only helps the person filling the form.
(function () {
  "use strict";

  // Review form: the reason is mandatory for the decisions marked data-needs-reason="true".
  document.querySelectorAll("[data-review-form]").forEach(function (form) {
    var reason = form.querySelector("textarea[name=reason]");
    var flag = form.querySelector("[data-reason-flag]");
    function update() {
      var chosen = form.querySelector("input[name=decision]:checked");
      var needed = !!chosen && chosen.dataset.needsReason === "true";
      reason.required = needed;
      if (flag) {
        flag.textContent = needed ? "（必填）" : "（选填）";
        flag.className = needed ? "error-text" : "muted";
      }
    }
    form.addEventListener("change", update);
    // The browser's own check of `required` stops the submit before our handler runs.
    reason.addEventListener("invalid", function () {
      reason.setAttribute("aria-invalid", "true");
    });
    reason.addEventListener("input", function () {
      if (reason.value.trim()) reason.removeAttribute("aria-invalid");
    });
    form.addEventListener("submit", function (event) {
      update();
      if (reason.required && !reason.value.trim()) {
        event.preventDefault();
        reason.setAttribute("aria-invalid", "true");
        reason.focus();
      }
    });
    update();
  });

  // Buttons that change something ask first: <button data-confirm="...">.
  document.querySelectorAll("[data-confirm]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      if (!window.confirm(button.dataset.confirm)) event.preventDefault();
    });
  });
})();
