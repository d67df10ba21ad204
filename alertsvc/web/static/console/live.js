/* Alert page: live counts from the server-sent event stream, falling back to polling the JSON snapshot.
   A change of state (approved, rejected, cancelled) or of the channel set reloads the page, so the author sees
   a decision at once. Without JavaScript the page refreshes itself (noscript meta refresh). */
(function () {
  "use strict";
  var page = document.getElementById("alert-page");
  if (!page) { return; }
  var lang = document.documentElement.lang;
  function fmt(n) { return Number(n).toLocaleString(lang); }
  function set(id, value) { var el = document.getElementById(id); if (el) { el.textContent = value; } }

  function apply(data) {
    var channels = data.channels.map(function (c) { return c.channel; }).join(",");
    if (data.state !== page.dataset.state || (channels !== page.dataset.channels && data.channels.length)) {
      window.location.reload();
      return;
    }
    var all = document.getElementById("progress-all");
    if (all) { all.value = data.percent; }
    set("percent-all", data.percent); set("done-all", fmt(data.done)); set("total-all", fmt(data.total));
    data.channels.forEach(function (c) {
      var row = page.querySelector('tr[data-channel="' + c.channel + '"]');
      if (!row) { return; }
      row.querySelector('[data-field="percent"]').value = c.percent;
      ["pending", "sent", "delivered", "failed", "suppressed"].forEach(function (f) {
        row.querySelector('[data-field="' + f + '"]').textContent = fmt(c[f]);
      });
      row.querySelector('[data-field="percent-text"]').textContent = c.percent;
    });
    set("acknowledged", fmt(data.acknowledged)); set("help-requested", fmt(data.help_requested));
    Object.keys(data.time_to_warn).forEach(function (k) {
      var v = data.time_to_warn[k];
      set("ttw-" + k, v === null ? "—" : v + " s");
    });
    page.dataset.percent = String(data.percent);
    page.dispatchEvent(new CustomEvent("alert:counts", { detail: data }));  // results.js redraws its chart
  }

  var polling = null;
  function poll() {
    if (polling) { return; }
    polling = setInterval(function () {
      fetch(page.dataset.jsonUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; }).then(function (d) { if (d) { apply(d); } })
        .catch(function () {});
    }, 3000);
  }
  if (!window.EventSource) { poll(); return; }
  var failures = 0;
  var source = new EventSource(page.dataset.liveUrl);
  source.addEventListener("counts", function (e) { failures = 0; apply(JSON.parse(e.data)); });
  source.addEventListener("done", function () { source.close(); });
  source.onerror = function () { failures += 1; if (failures > 3) { source.close(); poll(); } };
})();
