// Small behaviours that need no server round trip. No inline scripts: the CSP forbids them.
(function () {
  "use strict";
  function fadeToasts(root) {
    root.querySelectorAll(".toast:not([data-fading])").forEach(function (toast) {
      toast.dataset.fading = "1";
      toast.addEventListener("click", function () { toast.remove(); });
      if (!toast.classList.contains("toast-error")) {
        setTimeout(function () { toast.remove(); }, 6000);
      }
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var region = document.getElementById("toasts");
    if (!region) { return; }
    fadeToasts(region);
    new MutationObserver(function () { fadeToasts(region); }).observe(region, { childList: true });
  });
})();
