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
  // An autofocus field has the focus before the deferred scripts run: in a search-as-you-type
  // field, what was typed in that moment sent no request, and htmx takes it as the field's
  // starting value ("input changed" stays quiet). Once htmx has processed the page (its
  // DOMContentLoaded listener was added first), a "search" event asks for it (the search
  // fields' hx-trigger lists "search").
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("input[type='search'][autofocus]").forEach(function (field) {
      if (field.value !== field.defaultValue) {
        field.dispatchEvent(new Event("search", { bubbles: true }));
      }
    });
  });
})();

// --- Destructive actions (issue 18, "forms" helper) -------------------------------------
// The shared pattern for an action that cannot be undone (cancel an order, remove a price):
//   <button type="submit" class="danger" data-confirm="Remove this price?">Remove price</button>
// class="danger" styles it (marketline.css); data-confirm asks once with window.confirm
// before the form goes (a plain form or an htmx one: this listener runs first and stops it).
// Also works on a link: <a class="button danger" data-confirm="..." href="...">.
// Where the server must be sure without JavaScript, the form carries a checkbox inside an
// element marked data-confirm-box (e.g. "Yes, cancel this order", required by the server);
// with JavaScript that box is hidden and ticked when the agent confirms the dialog, so the
// agent is asked once either way.
(function () {
  "use strict";
  function boxes(form) {
    return form.querySelectorAll("[data-confirm-box]");
  }
  function hideBoxes(root) {
    root.querySelectorAll("[data-confirm-box]").forEach(function (box) {
      box.hidden = true;
    });
  }
  function setUp() {
    hideBoxes(document);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
  document.addEventListener("htmx:afterSwap", function (event) {
    hideBoxes(event.target);
  });
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var button = event.submitter;
    var message = (button && button.getAttribute("data-confirm")) ||
      (form.getAttribute && form.getAttribute("data-confirm"));
    if (!message) {
      return;
    }
    if (!window.confirm(message)) {
      event.preventDefault();
      event.stopImmediatePropagation();
      return;
    }
    boxes(form).forEach(function (box) {
      box.querySelectorAll('input[type="checkbox"]').forEach(function (input) {
        input.checked = true;
      });
    });
  }, true);
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-confirm]");
    if (link && !window.confirm(link.getAttribute("data-confirm"))) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);
})();
// --- end Destructive actions ------------------------------------------------------------
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
})();
// ---- end: shop on a phone ----------------------------------------------------------------

// --- The product page's quantity field (shop/product.html) -----------------------------
// An add refused by htmx writes why into #quantity-error (out of band, cart/_added.html) and
// an add that goes through empties it: the field is marked invalid while it has a message.
(function () {
  "use strict";
  function markQuantity() {
    var error = document.getElementById("quantity-error");
    var field = document.getElementById("quantity");
    if (!error || !field) {
      return;
    }
    if (error.textContent.trim()) {
      field.setAttribute("aria-invalid", "true");
    } else {
      field.removeAttribute("aria-invalid");
    }
  }
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    if (event.target && event.target.id === "quantity-error") {
      markQuantity();
    }
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.target && event.target.id === "cart-status") {
      markQuantity();
    }
  });
})();

// "Tick all": a header checkbox `data-check-all="order"` ticks or unticks every checkbox named
// `order` in its form, and shows mixed when some are ticked. Hidden without JavaScript (it
// would do nothing); worklists swap their results by htmx, so it is set up after each swap.
(function () {
  "use strict";
  function others(all) {
    var form = all.form || all.closest("form");
    return form ? form.querySelectorAll('input[type="checkbox"][name="' + all.dataset.checkAll + '"]') : [];
  }
  function show(root) {
    root.querySelectorAll("[data-check-all]").forEach(function (all) {
      all.hidden = false;
      var label = all.labels && all.labels[0];
      if (label) { label.hidden = false; }
    });
  }
  function sync(all) {
    var boxes = Array.prototype.slice.call(others(all));
    var ticked = boxes.filter(function (b) { return b.checked; }).length;
    all.checked = boxes.length > 0 && ticked === boxes.length;
    all.indeterminate = ticked > 0 && ticked < boxes.length;
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { show(document); });
  } else {
    show(document);
  }
  document.addEventListener("htmx:afterSwap", function (event) { show(event.target); });
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!(box instanceof HTMLInputElement) || box.type !== "checkbox") { return; }
    if (box.dataset.checkAll) {
      others(box).forEach(function (b) { b.checked = box.checked; });
      box.indeterminate = false;
      return;
    }
    var form = box.form;
    if (!form) { return; }
    form.querySelectorAll("[data-check-all]").forEach(function (all) {
      if (all.dataset.checkAll === box.name) { sync(all); }
    });
  });
})();
