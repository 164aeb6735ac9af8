// Reloads the status page every 15 seconds while it is visible, unless the
// reader paused it (remembered in this browser). The page is complete
// without this script; it only saves pressing reload.
(function () {
  "use strict";
  var key = "socmond.refresh.paused";
  var wrap = document.getElementById("refresh");
  var btn = document.getElementById("refresh-toggle");
  if (!wrap || !btn) { return; }
  var paused = false;
  try { paused = localStorage.getItem(key) === "1"; } catch (e) { /* storage may be disabled */ }
  function label() { btn.textContent = paused ? "Resume" : "Pause"; btn.setAttribute("aria-pressed", paused ? "true" : "false"); }
  wrap.hidden = false;
  label();
  btn.addEventListener("click", function () {
    paused = !paused;
    try { localStorage.setItem(key, paused ? "1" : "0"); } catch (e) { /* ignore */ }
    label();
  });
  setInterval(function () {
    if (!paused && document.visibilityState === "visible") { location.reload(); }
  }, 15000);
})();
