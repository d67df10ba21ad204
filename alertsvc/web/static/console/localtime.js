// Shows each <time datetime="…Z" data-local> in the reader's own time zone and language; without JavaScript the
// page keeps the UTC time the server wrote.
(function () {
  "use strict";
  var lang = document.documentElement.lang || undefined;
  var format = new Intl.DateTimeFormat(lang, {
    year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short"
  });
  document.querySelectorAll("time[data-local][datetime]").forEach(function (node) {
    var moment = new Date(node.getAttribute("datetime"));
    if (isNaN(moment.getTime())) { return; }
    node.setAttribute("title", node.textContent);
    node.textContent = format.format(moment);
  });
})();
