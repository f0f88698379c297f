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

// ---- Shop on a phone (issue 18, storefront/templates/layout.html, shop/*.html) ----------
// The category list folds behind its menu button on narrow screens (CSS hides the list
// while aria-expanded is "false"); without this script the button stays hidden and the
// list shows. A filter drawer (<details data-open-wide>) starts open on wide screens.
(function () {
  "use strict";
  function ready() {
    var nav = document.querySelector(".category-nav");
    var button = nav && nav.querySelector(".menu-button");
    if (button) {
      nav.classList.add("has-menu");
      button.hidden = false;
      button.addEventListener("click", function () {
        var open = button.getAttribute("aria-expanded") === "true";
        button.setAttribute("aria-expanded", open ? "false" : "true");
      });
    }
    if (window.matchMedia("(min-width: 56rem)").matches) {
      document.querySelectorAll("details[data-open-wide]").forEach(function (d) { d.open = true; });
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
  // Once the product page's add-to-cart form is sent, the price refresh of the quantity just
  // typed (#choose, 400 ms later) has nothing left to do: it is not sent, so that it cannot
  // swap or rewrite the URL of a page that is leaving. Back (bfcache) refreshes again.
  var leaving = false;
  document.addEventListener("submit", function (event) {
    if (event.target.id === "add-form" && !event.defaultPrevented) { leaving = true; }
  });
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (leaving && event.detail.elt && event.detail.elt.id === "choose") { event.preventDefault(); }
  });
  window.addEventListener("pageshow", function () { leaving = false; });
})();
// ---- end: shop on a phone ----------------------------------------------------------------
