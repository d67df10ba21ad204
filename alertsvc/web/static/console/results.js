/* Alert page: the chart over time (server-rendered SVG from /console/alerts/{id}/chart), loaded at once and
   redrawn when live.js reports new counts, at most every 5 seconds. No inline script, no library: the server
   draws the chart, this only swaps the fragment in. Loaded before live.js so it hears the first counts. */
(function () {
  "use strict";
  var page = document.getElementById("alert-page");
  var slot = document.getElementById("results-chart-slot");
  if (!page || !slot) { return; }
  var last = 0, timer = null;
  function load() {
    timer = null; last = Date.now();
    fetch(slot.dataset.chartUrl, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html !== null) { slot.innerHTML = html; slot.dataset.loaded = "1"; } })
      .catch(function () {});
  }
  page.addEventListener("alert:counts", function () {
    if (timer) { return; }
    timer = setTimeout(load, Math.max(0, 5000 - (Date.now() - last)));
  });
  load();
})();
