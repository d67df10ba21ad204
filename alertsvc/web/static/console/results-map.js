/* Alert page: the results map. Cells (GeoJSON from /console/alerts/{id}/results.geojson, counted by the server, small
   cells already merged or left out) coloured by the share of messages sent or delivered, in four bands of one blue
   hue (colour-blind safe), each cell labelled with its grid reference and that share, a dashed orange edge and a
   "⚠ n" where messages failed; help requests as markers a keyboard reaches (Tab, then Enter opens the details).
   The same figures fill the table under the map, for screen readers and for anyone who prefers numbers.
   Loaded at once and redrawn when live.js reports new counts, at most every 5 seconds. Needs map.js's
   window.consoleMap; texts come from the page (data-*-text attributes), already translated. */
(function () {
  "use strict";
  var page = document.getElementById("alert-page");
  var box = document.getElementById("results-map-box");
  var el = document.getElementById("map");
  if (!page || !box || !el || !el.dataset.resultsUrl || !window.consoleMap) { return; }
  var map = window.consoleMap.map;
  var lang = document.documentElement.lang;
  var BANDS = ["#deebf7", "#9ecae1", "#4292c6", "#08519c"];
  var SHORT_LABEL_PX = 40, FULL_LABEL_PX = 76;  // cells narrower on screen: "83 %" only, or no label (the table has it)
  /* Cells in a pane beneath the overlay pane, so the target area's red edge and the zone outlines stay on top. */
  map.createPane("result-cells").style.zIndex = 350;
  /* The area as an outline only: its red fill over the cells would turn their blues grey. */
  window.consoleMap.area.setStyle({ fillOpacity: 0 });
  var cells = L.layerGroup().addTo(map);
  var labels = L.layerGroup().addTo(map);
  var helps = L.layerGroup().addTo(map);
  var last = 0, timer = null, drawn = [];
  /* While a help marker's popup is open the markers are not redrawn (that would close it under the reader's eyes);
     the newest ones wait in `waitingHelps` and are drawn when it closes. */
  var popupOpen = false, waitingHelps = null;

  function text(name, values) {
    var t = box.dataset[name + "Text"] || "";
    Object.keys(values || {}).forEach(function (k) { t = t.split("{" + k + "}").join(values[k]); });
    return t;
  }
  function fmt(n) { return Number(n).toLocaleString(lang); }
  function band(p) { return p >= 100 ? 3 : p >= 90 ? 2 : p >= 50 ? 1 : 0; }
  function node(tag, cls, content) {
    var n = document.createElement(tag);
    if (cls) { n.className = cls; }
    if (content !== undefined) { n.textContent = content; }
    return n;
  }

  function cellLayer(feature) {
    var p = feature.properties, b = band(p.reached_percent);
    var layer = L.geoJSON(feature, { style: {
      color: p.failed ? "#b35806" : "#1f2937", weight: p.failed ? 3 : 1, dashArray: p.failed ? "6 4" : null,
      fillColor: BANDS[b], fillOpacity: 0.7, opacity: 0.95,
      className: "result-cell band-" + b + (p.failed ? " has-failed" : "")
    }, pane: "result-cells" });
    var tip = text("cell", { label: p.label }) + ": " + text("reached", { n: p.reached_percent }) +
      (p.failed ? ", " + text("failed", { n: fmt(p.failed) }) : "");
    layer.bindTooltip(tip, { sticky: true });
    return layer;
  }

  function placeLabels() {
    labels.clearLayers();
    drawn.forEach(function (feature) {
      var ring = feature.geometry.coordinates[0];
      var sw = map.latLngToLayerPoint([ring[0][1], ring[0][0]]), ne = map.latLngToLayerPoint([ring[2][1], ring[2][0]]);
      var width = Math.abs(ne.x - sw.x);
      if (width < SHORT_LABEL_PX) { return; }
      var p = feature.properties, full = width >= FULL_LABEL_PX;
      var html = document.createElement("span");
      if (full) { html.appendChild(node("strong", null, p.label + " ")); }
      html.appendChild(document.createTextNode(p.reached_percent + " %"));
      if (p.failed) { html.appendChild(node("span", "label-failed", full ? " ⚠ " + fmt(p.failed) : " ⚠")); }
      var marker = L.marker([(ring[0][1] + ring[2][1]) / 2, (ring[0][0] + ring[2][0]) / 2], {
        icon: L.divIcon({ className: "cell-label", html: html, iconSize: null }),
        interactive: false, keyboard: false
      }).addTo(labels);
      var icon = marker.getElement();
      if (icon) { icon.setAttribute("aria-hidden", "true"); }  // the table says it to screen readers
    });
  }

  function helpMarker(feature) {
    var p = feature.properties, c = feature.geometry.coordinates;
    var state = p.handled ? text("handled") : p.asked_again ? text("again") : text("waiting");
    var name = text("help", { ref: p.ref }) + " (" + state + ")";
    var html = document.createElement("span");
    html.appendChild(node("span", null, p.handled ? "✓" : "!")).setAttribute("aria-hidden", "true");
    html.appendChild(node("span", "visually-hidden", name));
    var marker = L.marker([c[1], c[0]], {
      icon: L.divIcon({ className: "help-marker" + (p.handled ? " handled" : ""), html: html, iconSize: [24, 24] }),
      keyboard: true, title: name, riseOnHover: true, zIndexOffset: p.handled ? 0 : 1000
    });
    var popup = node("div", "help-popup");
    popup.appendChild(node("strong", null, p.ref));
    popup.appendChild(node("p", null, state + (p.zone ? " · " + text("zone", { zone: p.zone }) : "")));
    popup.appendChild(node("p", null, text("asked", { at: p.asked_at.replace("T", " ").slice(0, 19) + " UTC" })));
    /* The list on this page when it was there at load, else the list's own page (a request made since). */
    var onPage = document.getElementById("help-" + p.resident_id);
    var link = node("a", null, text("open"));
    link.href = (onPage ? "" : box.dataset.helpUrl) + "#help-" + p.resident_id;
    popup.appendChild(node("p")).appendChild(link);
    /* Keyboard: the popup takes focus (its link), Escape closes it, and focus goes back to the marker. */
    function escape(event) { if (event.key === "Escape") { marker.closePopup(); } }
    marker.bindPopup(popup);
    marker.on("popupopen", function () { popupOpen = true; document.addEventListener("keydown", escape); link.focus(); });
    marker.on("popupclose", function () {
      popupOpen = false;
      document.removeEventListener("keydown", escape);
      var icon = marker.getElement();
      if (icon) { icon.focus(); }
      if (waitingHelps) { var next = waitingHelps; waitingHelps = null; drawHelps(next); }
    });
    return marker;
  }

  function row(cells, header) {
    var tr = document.createElement("tr");
    cells.forEach(function (value, i) {
      var td = node(i === 0 ? "th" : "td", i === 0 ? null : "num", value);
      if (i === 0) { td.scope = "row"; }
      tr.appendChild(td);
    });
    if (header) { tr.className = "hidden-cells"; }
    return tr;
  }
  function figures(p) {
    return [fmt(p.residents), fmt(p.sent + p.delivered) + " (" + p.reached_percent + " %)",
            fmt(p.delivered) + " (" + p.delivered_percent + " %)", fmt(p.failed), fmt(p.waiting), fmt(p.safe), fmt(p.help)];
  }

  function show(data) {
    var features = data.features || [], summary = data.summary || {};
    cells.clearLayers();
    drawn = features.filter(function (f) { return f.properties.kind === "cell"; });
    drawn.forEach(function (f) { cellLayer(f).addTo(cells); });
    var requests = features.filter(function (f) { return f.properties.kind === "help"; });
    if (popupOpen) { waitingHelps = requests; } else { drawHelps(requests); }
    placeLabels();

    var tbody = document.querySelector("#results-cells tbody");
    var rows = drawn.map(function (f) { return row([f.properties.label].concat(figures(f.properties))); });
    if (summary.hidden_cells) {
      rows.push(row([text("hiddenRow", { k: summary.min_residents })].concat(figures(summary.hidden)), true));
    }
    tbody.replaceChildren.apply(tbody, rows);

    var says = [];
    if (!summary.total || !summary.total.residents) { says.push(text("empty")); }
    else {
      if (summary.cell_metres) { says.push(text("size", { m: fmt(summary.cell_metres) })); }
      says.push(summary.hidden_cells ? text("hidden", { n: fmt(summary.hidden.residents), k: summary.min_residents })
                                     : text("noneHidden", { k: summary.min_residents }));
    }
    if (data.help_markers === false) { says.push(text("noMarkers")); }
    document.getElementById("results-map-summary").textContent = says.join(" ");
    ["legend-help", "legend-handled"].forEach(function (id) {
      var item = document.getElementById(id);
      if (item) { item.hidden = data.help_markers === false; }
    });
    el.dataset.cells = String(drawn.length);
  }

  function drawHelps(requests) {
    helps.clearLayers();
    requests.forEach(function (f) { helpMarker(f).addTo(helps); });
    el.dataset.helpMarkers = String(requests.length);
  }

  function load() {
    timer = null; last = Date.now();
    fetch(el.dataset.resultsUrl, { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) { show(data); } })
      .catch(function () {});
  }
  map.on("zoomend", placeLabels);
  page.addEventListener("alert:counts", function () {
    if (timer) { return; }
    timer = setTimeout(load, Math.max(0, 5000 - (Date.now() - last)));
  });
  load();
})();
