// Resident pages (the zone page's meetings): each element with data-local-start and data-local-end (UTC instants,
// which the server also wrote out in UTC words) is said again in the reader's own time zone and language, so a
// resident on a phone reads "Thursday 10 December, 19:00 – 21:00 EST", not a UTC clock they must convert. Without
// JavaScript the UTC words stay. No inline script: the pages run under a strict Content-Security-Policy.
(function () {
  "use strict";
  var lang = document.documentElement.lang || undefined;
  var withDay = new Intl.DateTimeFormat(lang, {
    weekday: "long", day: "numeric", month: "long", year: "numeric", hour: "2-digit", minute: "2-digit"
  });
  var timeOnly = new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit", timeZoneName: "short" });
  var dayAndZone = new Intl.DateTimeFormat(lang, {
    weekday: "long", day: "numeric", month: "long", hour: "2-digit", minute: "2-digit", timeZoneName: "short"
  });
  document.querySelectorAll("[data-local-start][data-local-end]").forEach(function (node) {
    var start = new Date(node.getAttribute("data-local-start"));
    var end = new Date(node.getAttribute("data-local-end"));
    if (isNaN(start.getTime()) || isNaN(end.getTime())) { return; }
    var sameDay = start.toDateString() === end.toDateString();  // in the reader's zone
    node.setAttribute("title", node.textContent);
    node.textContent = withDay.format(start) + " – " + (sameDay ? timeOnly : dayAndZone).format(end);
  });
})();
