/* Show the crisis panel as soon as a crisis answer is chosen, before the page is sent.
   Progressive enhancement only: without this file the patient sees the same panel on the
   page after sending. Which answers count comes from the server (data-crisis-answers). */
(function () {
  "use strict";
  document.querySelectorAll("[data-crisis-answers]").forEach(function (region) {
    var answers = JSON.parse(region.getAttribute("data-crisis-answers"));
    var panel = region.firstElementChild;
    var form = region.closest("form");
    if (!panel || !form) { return; }
    function update() {
      var show = Object.keys(answers).some(function (name) {
        return Array.prototype.some.call(form.querySelectorAll("input[name='" + name + "']:checked"),
          function (input) { return answers[name].indexOf(input.value) !== -1; });
      });
      /* Once shown it stays: a changed answer does not take help away. */
      if (show) { panel.hidden = false; }
    }
    form.addEventListener("change", update);
    update();
  });
})();
