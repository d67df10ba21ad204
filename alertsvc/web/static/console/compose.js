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
  function setText(id, value) { var el = document.getElementById(id); if (el) { el.textContent = value; } }
  function fmt(n) { return (n === null || n === undefined) ? "—" : Number(n).toLocaleString(document.documentElement.lang); }
  function preview() {
    if (pending) { pending.abort(); }
    pending = new AbortController();
    var body = new URLSearchParams(new FormData(form));
    fetch(form.dataset.previewUrl, {
      method: "POST", body: body, credentials: "same-origin", signal: pending.signal,
      headers: { "X-CSRF-Token": form.dataset.csrf, "Accept": "application/json" }
    }).then(function (r) { return r.ok ? r.json() : null; }).then(function (data) {
      if (!data) { return; }
      setText("reach-residents", fmt(data.residents));
      ["sms", "email", "push"].forEach(function (ch) { setText("reach-" + ch, data.residents === null ? "—" : fmt(data.contacts[ch] || 0)); });
      var box = document.getElementById("sms-previews");
      box.replaceChildren();
      data.sms.forEach(function (s) {
        var fig = document.createElement("figure"); fig.className = "sms-preview";
        var cap = document.createElement("figcaption");
        cap.textContent = "SMS " + s.language + ": " + s.segments + " × " + s.encoding;
        var pre = document.createElement("pre"); pre.className = "sms"; pre.textContent = s.text;
        fig.append(cap, pre); box.append(fig);
      });
      if (cm) { cm.showArea(data.area); }
      form.dataset.previewed = String(data.residents);
    }).catch(function () { /* offline or aborted: the Preview button still works */ });
  }
  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);
  if (polygonField.value || circleField.value || form.querySelector("input[name=zones]:checked")) { schedule(); }
})();
