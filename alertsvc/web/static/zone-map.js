// Zone page (/z/{zone}): with JavaScript on, the zone is drawn on the basemap the page names (data-tile-url, with
// the attribution the server reduced to text and links; empty: a plain background). Without it the page reads the
// same, minus the map. No inline script or style attribute: the pages run under a strict Content-Security-Policy.
(function () {
  "use strict";
  var holder = document.getElementById("zone-map");
  if (!holder || typeof L === "undefined") { return; }
  holder.hidden = false;
  holder.style.height = "18rem";  // CSSOM, which the policy allows (a style attribute in the HTML it would not)
  var map = window.alertsvcBasemap(holder);  // basemap.js
  window.zoneMap = map;  // for tests, as window.residentMap
  fetch(holder.dataset.zone).then(function (r) { return r.json(); }).then(function (data) {
    var layer = L.geoJSON(data, { style: { weight: 3, fillOpacity: 0.1 } }).addTo(map);
    if (layer.getLayers().length) { map.fitBounds(layer.getBounds()); } else { map.setView([0, 0], 2); }
  }).catch(function () { map.setView([0, 0], 2); });
})();
