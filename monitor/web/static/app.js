// policy-monitor web view: small enhancements only; every page reads fine without script.
(function () {
  "use strict";

  // Filters apply as soon as a choice is made (the Filter button stays for no-script readers).
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  // A permalink into a folded full text or context opens what holds it.
  function reveal() {
    var id = decodeURIComponent(location.hash.slice(1));
    var target = id && document.getElementById(id);
    if (!target) return;
    for (var node = target; node; node = node.parentElement) {
      if (node.tagName === "DETAILS") node.open = true;
    }
    if (target.classList.contains("form-only")) {
      var toggle = document.getElementById("show-form-only");
      if (toggle) toggle.checked = true;
    }
    target.scrollIntoView();
  }
  window.addEventListener("hashchange", reveal);
  if (location.hash) reveal();

  // j / k move between change panels, as in mail readers.
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "select" || tag === "textarea") return;
    if (event.key !== "j" && event.key !== "k") return;
    var panels = Array.prototype.filter.call(document.querySelectorAll(".panel"), function (p) {
      return p.offsetParent !== null;
    });
    if (!panels.length) return;
    var current = panels.indexOf(document.activeElement.closest ? document.activeElement.closest(".panel") : null);
    var next = event.key === "j" ? current + 1 : current - 1;
    if (next < 0 || next >= panels.length) return;
    panels[next].focus();
    panels[next].scrollIntoView({ block: "start" });
    history.replaceState(null, "", "#" + panels[next].id);
  });
})();
