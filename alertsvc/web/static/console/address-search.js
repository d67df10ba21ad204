/* The compose page's address search: type "12 riv", pick "12 River Road" from the list, and the map centres there.
   Asks GET /console/addresses?q= (the gazetteer imported with `alertsvc addresses import`). The matches are a list
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

  function choose(item) {
    var map = window.consoleMap.map;
    var where = [item.lat, item.lon];
    map.setView(where, Math.max(map.getZoom(), 17));
    if (marker) { marker.remove(); }
    marker = L.circleMarker(where, { radius: 8, color: "#1d4ed8", weight: 3, fillOpacity: 0.3 }).addTo(map);
    marker.bindTooltip(item.label);
    box.dataset.centred = item.lat + "," + item.lon;
    input.value = item.label;
    clear();
    say(box.dataset.centredText + " " + item.label);
    input.focus();
  }

  function show(items) {
    clear();
    items.forEach(function (item) {
      var li = document.createElement("li");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "address-choice";
      button.textContent = item.label;
      button.addEventListener("click", function () { choose(item); });
      li.appendChild(button);
      list.appendChild(li);
    });
    say(items.length ? box.dataset.foundText + " " + items.length : box.dataset.noneText);
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
