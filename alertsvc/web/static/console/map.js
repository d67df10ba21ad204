/* The console map: named zones and the target area on the basemap the page names (data-tile-url: the configured
   tile server or this service's /tiles/; empty: a plain background). The attribution arrives already reduced to
   text and links by the server. Exposes window.consoleMap (and the area layer) so compose.js can draw and tests
   can find pixels. */
(function () {
  "use strict";
  var el = document.getElementById("map");
  if (!el || !window.L) { return; }
  el.hidden = false;
  var hint = document.getElementById("map-hint");
  if (hint) { hint.hidden = false; }
  var map = window.alertsvcBasemap(el, { zoomControl: true, attributionControl: true });  // basemap.js
  var zones = L.geoJSON(null, {
    /* Dark enough to read over streets, thinner than the red target area drawn on top. */
    style: { color: "#374151", weight: 2, opacity: 0.9, fillOpacity: 0.05, dashArray: "6 4" },
    onEachFeature: function (feature, layer) {
      if (feature.properties && feature.properties.name) { layer.bindTooltip(feature.properties.name, { sticky: true }); }
    }
  }).addTo(map);
  var area = L.geoJSON(null, {
    style: { color: "#b91c1c", weight: 3, fillOpacity: 0.15 },
    pointToLayer: function (feature, latlng) {
      return L.circle(latlng, { radius: feature.properties.radius_m, color: "#b91c1c", weight: 3, fillOpacity: 0.15 });
    }
  }).addTo(map);

  function showArea(geojson) {
    area.clearLayers();
    if (geojson && geojson.features && geojson.features.length) { area.addData(geojson); }
  }
  function fit() {
    var bounds = area.getBounds();
    if (!bounds.isValid()) { bounds = zones.getBounds(); }
    if (bounds.isValid()) { map.fitBounds(bounds.pad(0.1)); } else { map.setView([20, 0], 2); }
  }
  try { showArea(JSON.parse(el.dataset.area || "{}")); } catch (e) { showArea(null); }
  map.setView([20, 0], 2);
  fetch(el.dataset.zonesUrl, { credentials: "same-origin" })
    .then(function (r) { return r.ok ? r.json() : null; })
    .then(function (data) { if (data) { zones.addData(data); } fit(); el.dataset.ready = "1"; })
    .catch(function () { fit(); el.dataset.ready = "1"; });
  window.consoleMap = { map: map, zones: zones, area: area, showArea: showArea, fit: fit };
})();
