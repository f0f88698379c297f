// Marketline's only script of its own: htmx sends the CSRF token with every request, and a
// form marked data-submit-once goes once.
(function () {
  "use strict";
  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) {
      event.detail.headers["X-CSRFToken"] = meta.getAttribute("content");
    }
  });
  // A form marked data-submit-once is sent once per page: a double click on a button that
  // adds 500 lines to the cart must not add them twice (the server checks its key too).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-submit-once")) {
      return;
    }
    if (form.dataset.sent) {
      event.preventDefault();
    }
    form.dataset.sent = "yes";
  });
})();
