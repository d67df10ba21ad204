/* The compose page's address and zone search: type "12 riv", pick "12 River Road" from the list, and the map centres
   there; type "old m", pick "Zone: Old Mill", and the map fits the zone and offers a button to tick it as the target
   area (the form's own zone box, so the reach and the preview follow as if it had been ticked by hand).
   Asks GET /console/addresses?q= (zones first, then the gazetteer imported with `alertsvc addresses import`). The matches are a list
   of buttons: Arrow Down from the box goes to the first, Arrow Up/Down move between them, Enter or Space picks,
   Escape goes back to the box; Enter in the box picks the first match rather than submitting the alert. The
   result is announced in a polite live region. Needs map.js's window.consoleMap; without script the box stays
   hidden (the map does too). The box sits on the map, as a Leaflet control. */
(function () {
  "use strict";
  var box = document.getElementById("address-search");
  var input = document.getElementById("address-q");
  var list = document.getElementById("address-results");
  var status = document.getElementById("address-status");
  if (!box || !input || !list || !status || !window.consoleMap) { return; }
  // On the map itself, as a control in its top-right corner: it takes no room from the reach and SMS preview that
  // share the first screen with the map. Clicks, wheel and keys in it stay in it (no map pan or zoom).
  var Holder = L.Control.extend({ options: { position: "topright" }, onAdd: function () { return box; } });
  new Holder().addTo(window.consoleMap.map);
  L.DomEvent.disableClickPropagation(box);
  L.DomEvent.disableScrollPropagation(box);
  box.addEventListener("keydown", function (event) { event.stopPropagation(); });
  box.hidden = false;
  var timer = null;
  var asked = 0;
  var marker = null;

  function say(text) { status.textContent = text; }
  function buttons() { return Array.prototype.slice.call(list.querySelectorAll("button")); }
  function clear() { while (list.firstChild) { list.removeChild(list.firstChild); } }

  function words(name, zone) { return (box.dataset[name] || "").split("{zone}").join(zone); }
  function zoneBox(name) {
    var all = document.querySelectorAll("input[name=zones]");
    for (var i = 0; i < all.length; i += 1) { if (all[i].value === name) { return all[i]; } }
    return null;
  }

  /* A zone picked: offer its box in the form as the target area (one button in the list), unless already ticked. */
  function offerZone(item) {
    var tick = zoneBox(item.zone);
    if (!tick) { return false; }
    if (tick.checked) { say(words("zoneTickedText", item.zone)); return true; }
    var li = document.createElement("li");
    var button = document.createElement("button");
    button.type = "button";
    button.className = "address-choice zone-use";
    button.id = "use-zone";
    button.textContent = words("useZoneText", item.zone) || item.zone;
    button.addEventListener("click", function () {
      tick.checked = true;
      tick.dispatchEvent(new Event("change", { bubbles: true }));  // compose.js previews the new area
      clear();
      say(words("zoneTickedText", item.zone));
      input.focus();
    });
    li.appendChild(button);
    list.appendChild(li);
    say(box.dataset.centredText + " " + item.label + ". " + button.textContent);
    button.focus();
    return true;
  }

  function choose(item) {
    var map = window.consoleMap.map;
    var where = [item.lat, item.lon];
    if (marker) { marker.remove(); marker = null; }
    clear();
    if (item.bounds) {
      /* The whole zone in view, clear of the drawing tools (left) and of this box (top right, the list closed). */
      map.fitBounds(item.bounds, { paddingTopLeft: [56, box.offsetHeight + 20], paddingBottomRight: [16, 16] });
    } else {
      map.setView(where, Math.max(map.getZoom(), 17));
      marker = L.circleMarker(where, { radius: 8, color: "#1d4ed8", weight: 3, fillOpacity: 0.3 }).addTo(map);
      marker.bindTooltip(item.label);
    }
    box.dataset.centred = item.lat + "," + item.lon;
    input.value = item.label;
    if (item.zone && offerZone(item)) { return; }
    say(box.dataset.centredText + " " + item.label);
    input.focus();
  }

  function show(items) {
    clear();
    items.forEach(function (item) {
      var li = document.createElement("li");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "address-choice" + (item.zone ? " zone-choice" : "");
      button.textContent = item.zone ? (box.dataset.zoneText || "Zone:") + " " + item.label : item.label;
      button.addEventListener("click", function () { choose(item); });
      li.appendChild(button);
      list.appendChild(li);
    });
    var zones = items.filter(function (item) { return item.zone; }).length;
    var addresses = items.length - zones;
    var found = [];
    if (zones) { found.push((box.dataset.zonesFoundText || "Zones:") + " " + zones); }
    if (addresses) { found.push(box.dataset.foundText + " " + addresses); }
    say(items.length ? found.join(". ") : box.dataset.noneText);
  }

  function search() {
    var q = input.value.trim();
    if (q.length < 2) { clear(); say(""); return; }
    var mine = ++asked;
    fetch(box.dataset.url + "?q=" + encodeURIComponent(q.slice(0, 100)),
          { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : { items: [] }; })
      .then(function (data) { if (mine === asked) { show(data.items || []); } })
      .catch(function () { if (mine === asked) { show([]); } });
  }

  input.addEventListener("input", function () {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(search, 250);
  });
  input.addEventListener("keydown", function (event) {
    var all = buttons();
    if (event.key === "Enter") {
      event.preventDefault();  // never submit the alert from the search box
      if (all.length) { all[0].click(); } else { search(); }
    } else if (event.key === "ArrowDown" && all.length) {
      event.preventDefault();
      all[0].focus();
    } else if (event.key === "Escape") {
      clear();
      say("");
    }
  });
  list.addEventListener("keydown", function (event) {
    var all = buttons();
    var at = all.indexOf(document.activeElement);
    if (at < 0) { return; }
    if (event.key === "ArrowDown") {
      event.preventDefault();
      all[Math.min(at + 1, all.length - 1)].focus();
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      if (at === 0) { input.focus(); } else { all[at - 1].focus(); }
    } else if (event.key === "Escape") {
      event.preventDefault();
      clear();
      input.focus();
    }
  });
})();
