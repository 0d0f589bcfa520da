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

  // A form that removes or stops something asks first (data-confirm holds the question). In the
  // capture phase, so that a refusal also stops htmx from sending the form.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form && form.dataset ? form.dataset.confirm : null;
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // The live status line (templates/live/_status.html) follows the page's event stream.
  var LIVE_TEXT = {
    live: "Live: new events appear here as they arrive.",
    reconnecting: "Live updates interrupted; reconnecting…",
    stopped: "Live updates stopped. Reload the page to resume them."
  };
  function setLive(state) {
    var status = document.getElementById("live-status");
    if (!status) { return; }
    status.dataset.state = state;
    status.querySelector(".live-text").textContent = LIVE_TEXT[state];
  }
  document.addEventListener("htmx:sse:after:connection", function () { setLive("live"); });
  document.addEventListener("htmx:sse:error", function () { setLive("reconnecting"); });
  document.addEventListener("htmx:sse:close", function (event) {
    var reason = event.detail && event.detail.reason;
    if (reason !== "removed") { setLive("stopped"); }
  });

  // A copy button (data-copy-from names the element whose text it copies) says "Copied" for a
  // moment. Delegated, so buttons swapped in by htmx work too.
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button[data-copy-from]") : null;
    if (!button) { return; }
    var source = document.getElementById(button.dataset.copyFrom);
    if (!source || !navigator.clipboard) { return; }
    navigator.clipboard.writeText(source.textContent.trim()).then(function () {
      var label = button.textContent;
      button.textContent = "Copied";
      button.dataset.copied = "1";
      setTimeout(function () { button.textContent = label; delete button.dataset.copied; }, 2000);
    });
  });
})();
