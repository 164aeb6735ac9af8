// Filters the status page in place: choosing a tenant, account or region
// fetches the page the form would load and swaps in its parts marked
// data-swap, so focus and scroll stay where they were, and puts the filter
// in the address bar, so the link on-call shares opens the same view.
// Without this script the form submits the same query and the server
// renders the filtered page.
(function () {
  "use strict";
  var form = document.getElementById("filters");
  if (!form || !window.fetch || !window.history || !window.DOMParser) { return; }
  var apply = document.getElementById("filters-apply");

  // target is the form's URL with only the keys that filter: an "all"
  // choice leaves its key out, so the link stays short.
  function target() {
    var url = new URL(form.action);
    var q = new URLSearchParams();
    new FormData(form).forEach(function (v, k) { if (v !== "") { q.append(k, v); } });
    url.search = q.toString();
    return url.toString();
  }

  var pending = 0;
  function show(url, push) {
    var mine = ++pending;
    form.setAttribute("aria-busy", "true");
    fetch(url, { headers: { Accept: "text/html" }, credentials: "same-origin" }).then(function (resp) {
      if (!resp.ok) { throw new Error(resp.status); }
      return resp.text();
    }).then(function (html) {
      if (mine !== pending) { return; } // a later choice won
      var doc = new DOMParser().parseFromString(html, "text/html");
      document.querySelectorAll("[data-swap]").forEach(function (el) {
        var fresh = doc.getElementById(el.id);
        if (fresh) { el.innerHTML = fresh.innerHTML; el.className = fresh.className; }
      });
      document.title = doc.title;
      if (push) { history.pushState(null, "", url); }
      form.removeAttribute("aria-busy");
    }).catch(function () {
      location.assign(url); // the server renders it the plain way
    });
  }

  if (apply) { apply.hidden = true; }
  form.addEventListener("change", function () { show(target(), true); });
  form.addEventListener("submit", function (e) { e.preventDefault(); show(target(), true); });
  // Back and forward move between filters as between pages.
  window.addEventListener("popstate", function () { show(location.href, false); });
})();
