/* Compose page: status look, drawing on the map, and the live preview (reach and SMS) as the form changes.
   Everything here has a no-JavaScript path: the coordinate fields, zone checkboxes and the Preview button. */
(function () {
  "use strict";
  var form = document.getElementById("compose");
  if (!form) { return; }
  var polygonField = document.getElementById("polygon");
  var circleField = document.getElementById("circle");
  var sendButton = document.getElementById("send-button");
  var slot = document.getElementById("status-banner-slot");
  var templates = document.getElementById("banner-templates");

  function showStatus() {
    var checked = form.querySelector("input[name=status]:checked");
    var status = checked ? checked.value : "";
    document.body.className = document.body.className.replace(/status-\w+/g, "").trim() + " status-" + (status ? status.toLowerCase() : "none");
    sendButton.className = "send status-" + (status ? status.toLowerCase() : "none");
    sendButton.textContent = sendButton.dataset["label" + (status ? status.charAt(0) + status.slice(1).toLowerCase() : "None")];
    var banner = status && templates ? templates.content.getElementById("banner-" + status) : null;
    if (banner && slot) { slot.replaceChildren(banner.cloneNode(true)); }
  }
  form.querySelectorAll("input[name=status]").forEach(function (r) { r.addEventListener("change", showStatus); });
  if (form.querySelector("input[name=status]:checked")) { showStatus(); }

  /* Drawing: the drawn shapes are written into the same fields a dispatcher could type into. */
  var cm = window.consoleMap;
  if (cm && L.Control && L.Control.Draw) {
    var drawn = new L.FeatureGroup().addTo(cm.map);
    cm.drawn = drawn;
    cm.map.addControl(new L.Control.Draw({
      position: "topleft",
      draw: { polygon: { allowIntersection: false, showArea: false }, rectangle: { showArea: false }, circle: { showRadius: true },
              polyline: false, marker: false, circlemarker: false },
      edit: { featureGroup: drawn }
    }));
    var fromDrawing = function () {
      var polygons = [], circles = [];
      drawn.eachLayer(function (layer) {
        if (layer instanceof L.Circle) {
          var c = layer.getLatLng();
          circles.push(c.lat.toFixed(6) + "," + c.lng.toFixed(6) + " " + (layer.getRadius() / 1000).toFixed(3));
        } else {
          polygons.push(layer.toGeoJSON());
        }
      });
      polygonField.value = polygons.length ? JSON.stringify({ type: "FeatureCollection", features: polygons }) : "";
      circleField.value = circles.join("\n");
      schedule();
    };
    cm.map.on(L.Draw.Event.CREATED, function (event) { drawn.addLayer(event.layer); fromDrawing(); });
    cm.map.on(L.Draw.Event.EDITED, fromDrawing);
    cm.map.on(L.Draw.Event.DELETED, fromDrawing);
  }

  /* Preview: the server computes reach and SMS with the same code that sends. */
  var timer = null, pending = null;
  function schedule() { clearTimeout(timer); timer = setTimeout(preview, 350); }
  function preview() {
    if (pending) { pending.abort(); }
    pending = new AbortController();
    var body = new URLSearchParams(new FormData(form));
    fetch(form.dataset.previewUrl, {
      method: "POST", body: body, credentials: "same-origin", signal: pending.signal,
      headers: { "X-CSRF-Token": form.dataset.csrf, "Accept": "application/json" }
    }).then(function (r) { return r.ok ? r.json() : null; }).then(function (data) {
      if (!data) { return; }
      /* The server renders the panel (reach per channel and language, forecast, SMS and subjects) with the same
         template as the page, escaped by Jinja: one place formats numbers and words in the page's language. */
      var panel = document.getElementById("preview-panel");
      if (panel && typeof data.panel_html === "string") {
        var doc = new DOMParser().parseFromString("<div>" + data.panel_html + "</div>", "text/html");
        panel.replaceChildren.apply(panel, Array.prototype.slice.call(doc.body.firstChild.childNodes));
        /* The panel is new nodes each time; a live region must stay in place for screen readers to announce. */
        var summary = document.getElementById("reach-summary"), announce = document.getElementById("reach-announce");
        if (summary && announce) { announce.textContent = summary.textContent.replace(/\s+/g, " ").trim(); }
      }
      if (cm) { cm.showArea(data.area); }
      form.dataset.previewed = String(data.residents);
    }).catch(function () { /* offline or aborted: the Preview button still works */ });
  }
  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);
  if (polygonField.value || circleField.value || form.querySelector("input[name=zones]:checked")) { schedule(); }
})();
