/* The compose map's "Where residents are" layer: residents per grid cell of the view, so the dispatcher sees where
   people live before drawing. Off until its box is ticked (a real checkbox on the map, reachable by Tab, Space to
   toggle); then it asks GET /console/density.geojson?bbox=west,south,east,north for the view, again after each pan
   or zoom, and draws each cell as a square shaded by its count, with a legend. Cells with fewer residents than the
   server's minimum (ALERTSVC_DENSITY_MIN_COUNT) never come back, so the legend says so. The colours are five steps
   of viridis (colour-blind safe, and ordered light to dark, so they read in grey too); the counts are also in
   each square's tooltip and summed in a polite live region. The squares sit in a pane beneath the drawn area and
   take no clicks, so drawing is not hindered. Needs map.js's window.consoleMap; words come from the template's
   data- attributes (translated there). */
(function () {
  "use strict";
  var box = document.getElementById("density-control");
  if (!box || !window.L || !window.consoleMap) { return; }
  var map = window.consoleMap.map;
  var toggle = document.getElementById("density-on");
  var legend = document.getElementById("density-legend");
  var scale = document.getElementById("density-scale");
  var status = document.getElementById("density-status");
  var COLOURS = ["#fde725", "#5ec962", "#21918c", "#3b528b", "#440154"];
  var STEPS = [1, 3, 10, 30, 100];  // class lower bounds, in multiples of the minimum count
  var number = new Intl.NumberFormat(document.documentElement.lang || undefined);
  var pane = map.createPane("density");
  pane.style.zIndex = 350;  // above the tiles (200), beneath the zones and the drawn area (overlayPane, 400)
  pane.style.pointerEvents = "none";
  var layer = L.layerGroup();
  var asked = 0;
  var timer = null;
  var minimum = null;

  var Holder = L.Control.extend({ options: { position: "bottomleft" }, onAdd: function () { return box; } });
  new Holder().addTo(map);
  L.DomEvent.disableClickPropagation(box);
  L.DomEvent.disableScrollPropagation(box);
  box.addEventListener("keydown", function (event) { event.stopPropagation(); });
  box.hidden = false;

  function words(name, values) {
    var text = box.dataset[name] || "";
    Object.keys(values || {}).forEach(function (key) { text = text.split("{" + key + "}").join(values[key]); });
    return text;
  }
  function say(text) { status.textContent = text; }
  function classOf(count) {
    var found = 0;
    STEPS.forEach(function (step, index) { if (count >= step * minimum) { found = index; } });
    return found;
  }

  function drawLegend() {
    while (scale.firstChild) { scale.removeChild(scale.firstChild); }
    STEPS.forEach(function (step, index) {
      var item = document.createElement("li");
      var swatch = document.createElement("span");
      swatch.className = "density-swatch";
      swatch.style.background = COLOURS[index];
      swatch.setAttribute("aria-hidden", "true");
      var low = number.format(step * minimum);
      var text = index + 1 < STEPS.length
        ? words("rangeText", { low: low, high: number.format(STEPS[index + 1] * minimum - 1) })
        : words("fromText", { low: low });
      item.appendChild(swatch);
      item.appendChild(document.createTextNode(text));
      scale.appendChild(item);
    });
    document.getElementById("density-minimum").textContent = words("minimumText", { n: number.format(minimum) });
  }

  function draw(body) {
    layer.clearLayers();
    if (minimum !== body.min_count) { minimum = body.min_count; drawLegend(); }
    var residents = 0;
    body.features.forEach(function (feature) {
      var count = feature.properties.residents;
      residents += count;
      L.geoJSON(feature, {
        pane: "density", interactive: false,
        style: { stroke: true, weight: 0.5, color: "#374151", fillColor: COLOURS[classOf(count)], fillOpacity: 0.45 }
      }).addTo(layer);
    });
    var summary = words("shownText", { cells: number.format(body.features.length), residents: number.format(residents) });
    say(body.current ? summary : summary + " " + words("staleText"));
  }

  function load() {
    if (!toggle.checked) { return; }
    var mine = ++asked;
    var url = box.dataset.url + "?bbox=" + encodeURIComponent(map.getBounds().toBBoxString());
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { if (!response.ok) { throw new Error(String(response.status)); } return response.json(); })
      .then(function (body) {
        if (mine !== asked || !toggle.checked) { return; }
        if (body.building) { say(words("buildingText")); timer = setTimeout(load, 1500); return; }
        draw(body);
        if (!body.current) { timer = setTimeout(load, 3000); }  // a rebuild is under way: fetch the fresh counts
      })
      .catch(function () { if (mine === asked) { say(words("failedText")); } });
  }

  function later() { clearTimeout(timer); timer = setTimeout(load, 250); }

  toggle.addEventListener("change", function () {
    clearTimeout(timer);
    legend.hidden = !toggle.checked;
    if (toggle.checked) { layer.addTo(map); load(); } else { asked += 1; layer.remove(); layer.clearLayers(); say(""); }
  });
  map.on("moveend", function () { if (toggle.checked) { later(); } });
})();
