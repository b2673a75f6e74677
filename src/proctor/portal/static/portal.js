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

  // Timeline zoom: the picture is drawn wider and scrolls sideways.
  document.querySelectorAll(".timeline-card").forEach(function (card) {
    var svg = card.querySelector("svg");
    card.querySelectorAll("[data-zoom]").forEach(function (button) {
      button.addEventListener("click", function () {
        if (svg) svg.style.width = (100 * Number(button.dataset.zoom)) + "%";
        if (svg) svg.style.maxWidth = "none";
      });
    });
  });

  // Keyboard shortcuts (not while typing): j/k next/previous row, x select, / search,
  // n next session, c = 维持无效 on a session page.
  function typing(target) {
    return target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" ||
                      target.tagName === "SELECT" || target.isContentEditable);
  }
  var rows = Array.prototype.slice.call(document.querySelectorAll("[data-queue-row]"));
  var current = -1;
  function focusRow(i) {
    if (!rows.length) return;
    current = Math.max(0, Math.min(rows.length - 1, i));
    var link = rows[current].querySelector("a");
    if (link) link.focus();
  }
  document.addEventListener("keydown", function (event) {
    if (typing(event.target) || event.ctrlKey || event.metaKey || event.altKey) return;
    var key = event.key;
    if (key === "/") {
      var search = document.querySelector("input[name=q]");
      if (search) { event.preventDefault(); search.focus(); }
    } else if (key === "j") { focusRow(current + 1); }
    else if (key === "k") { focusRow(current - 1); }
    else if (key === "x" && current >= 0) {
      var box = rows[current].querySelector("input[type=checkbox]");
      if (box) box.checked = !box.checked;
    } else if (key === "n") {
      var next = document.querySelector("[data-next-session]");
      if (next) window.location.href = next.getAttribute("href");
    } else if (key === "c") {
      var confirm = document.querySelector("input[name=decision][value=confirm_invalid]");
      if (confirm) { confirm.checked = true; confirm.dispatchEvent(new Event("change", {bubbles: true})); }
    }
  });

  // Bulk selection: "select all" on the queue.
  document.querySelectorAll("[data-select-all]").forEach(function (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll("input[name=session_ids]").forEach(function (box) {
        box.checked = all.checked;
      });
    });
  });

  // Buttons that change something ask first: <button data-confirm="...">.
  document.querySelectorAll("[data-confirm]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      if (!window.confirm(button.dataset.confirm)) event.preventDefault();
    });
  });
})();
