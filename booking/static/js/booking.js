/* Booking pages, progressive enhancement only: everything works without this file.
   1. When the browser's time zone differs from the clinic's, show the patient's own time
      beside each listed time and pass the zone on (the server validates it).
   2. A booking button sends its form once, so a double click cannot send it twice. */
(function () {
  "use strict";
  var zone;
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { zone = null; }
  var note = document.querySelector("[data-clinic-tz]");
  var clinicZone = note ? note.getAttribute("data-clinic-tz") : null;

  document.querySelectorAll("input[name='tz']").forEach(function (input) { if (zone) { input.value = zone; } });

  if (zone && clinicZone && zone !== clinicZone) {
    var format = new Intl.DateTimeFormat(undefined, { timeZone: zone, weekday: "short", hour: "numeric", minute: "2-digit" });
    note.textContent = " Your own time (" + zone.replace(/_/g, " ") + ") is shown beside each time.";
    note.hidden = false;
    document.querySelectorAll("a[data-slot]").forEach(function (link) {
      var iso = link.getAttribute("data-slot").replace("Z", ":00Z");
      var when = new Date(iso);
      if (isNaN(when.getTime())) { return; }
      var extra = document.createElement("span");
      extra.className = "slot-own-time";
      extra.textContent = " (" + format.format(when) + " your time)";
      link.appendChild(extra);
      var url = new URL(link.href, window.location.href);
      url.searchParams.set("tz", zone);
      link.href = url.toString();
    });
  }

  document.querySelectorAll("button[data-once]").forEach(function (button) {
    var form = button.form;
    if (!form) { return; }
    form.addEventListener("submit", function (event) {
      if (form.getAttribute("data-sent")) { event.preventDefault(); return; }
      form.setAttribute("data-sent", "1");
      window.setTimeout(function () { button.disabled = true; button.setAttribute("aria-busy", "true"); }, 0);
    });
  });
})();
