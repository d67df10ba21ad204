// One basemap for every map of the service (console, sign-up, zone pages): a Leaflet map on `holder` with the tile
// layer its data- attributes name (data-tile-url: the configured tile server or this service's /tiles/; empty: a
// plain background; data-tile-attribution, already reduced by the server to text and links; data-tile-max-zoom).
// A static file, so the pages keep a Content-Security-Policy with no inline script.
(function () {
  "use strict";
  window.alertsvcBasemap = function (holder, options) {
    var map = L.map(holder, options || {});
    // Credits open in a new tab: a click must never take a half-written alert (or sign-up) off the screen.
    map.attributionControl.setPrefix('<a href="https://leafletjs.com" target="_blank" rel="noopener noreferrer">Leaflet</a>');
    if (holder.dataset.tileUrl) {
      // The pages send no Referer across origins; tile servers such as OpenStreetMap's refuse requests without one,
      // so tiles send this site's origin, never the page's path.
      var tileOptions = { maxZoom: 19, attribution: holder.dataset.tileAttribution || "",
                          referrerPolicy: "strict-origin-when-cross-origin" };
      var nativeZoom = parseInt(holder.dataset.tileMaxZoom || "", 10);
      if (nativeZoom >= 0) { tileOptions.maxNativeZoom = nativeZoom; tileOptions.maxZoom = Math.max(19, nativeZoom); }
      L.tileLayer(holder.dataset.tileUrl, tileOptions).addTo(map);
    }
    return map;
  };
})();
