// Fills a fresh meeting form's time zone (an <input data-browser-zone>) with the browser's own, so the times the
// organiser types are read as theirs; without JavaScript the field keeps UTC, which the page states.
(function () {
  "use strict";
  var zone;
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (error) { return; }
  if (!zone) { return; }
  document.querySelectorAll("input[data-browser-zone]").forEach(function (field) {
    if (field.value === "UTC") { field.value = zone; }
  });
})();
