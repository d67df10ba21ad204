// Sign-up page: with JavaScript on, a click on the map fills in latitude and longitude. Without it, the fields
// are typed in as before. Zones are drawn for orientation, on the basemap the page names (data-tile-url, with the
// attribution the server reduced to text and links; empty: a plain background).
(function () {
  "use strict";
  var holder = document.getElementById("pick-map");
  var lat = document.getElementById("lat");
  var lon = document.getElementById("lon");
  if (!holder || !lat || !lon || typeof L === "undefined") { return; }
  holder.hidden = false;
  var map = window.alertsvcBasemap(holder);  // basemap.js
  window.residentMap = map;  // for tests, as the console's window.consoleMap
  var marker = null;
  function place(latlng) {
    if (marker) { marker.setLatLng(latlng); } else { marker = L.circleMarker(latlng, { radius: 7 }).addTo(map); }
  }
  fetch(holder.dataset.zones).then(function (r) { return r.json(); }).then(function (data) {
    var layer = L.geoJSON(data, { style: { weight: 2, fillOpacity: 0.05 } }).addTo(map);
    if (layer.getLayers().length) { map.fitBounds(layer.getBounds()); } else { map.setView([0, 0], 2); }
    if (lat.value && lon.value) { place([parseFloat(lat.value), parseFloat(lon.value)]); }
  }).catch(function () { map.setView([0, 0], 2); });
  map.on("click", function (event) {
    lat.value = event.latlng.lat.toFixed(6);
    lon.value = event.latlng.lng.toFixed(6);
    place(event.latlng);
  });
})();
