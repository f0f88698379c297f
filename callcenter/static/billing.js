// Billing pages: numbering the free-text invoice's added lines, removing a line, and
// showing what a payment leaves unallocated (customer credit) while amounts are typed.
// Everything here is a convenience: the server checks and computes it all again.
(function () {
  "use strict";

  // "Add line" asks the server for line number N (htmx appends it to #lines).
  document.addEventListener("htmx:configRequest", function (event) {
    var button = event.detail.elt;
    if (button && button.hasAttribute && button.hasAttribute("data-next-line")) {
      var next = parseInt(button.getAttribute("data-next-line"), 10) || 0;
      event.detail.parameters.index = String(next);
      button.setAttribute("data-next-line", String(next + 1));
    }
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-remove-line]") : null;
    if (!button) { return; }
    var line = document.getElementById(button.getAttribute("data-remove-line"));
    if (line && document.querySelectorAll(".invoice-line").length > 1) {
      line.remove();
    }
  });

  // Amounts are typed as 12.50 or 12,50; sums are kept in minor units to stay exact.
  function minor(text, places) {
    var raw = (text || "").trim().replace(/\s/g, "");
    if (/^\d+,\d+$/.test(raw)) { raw = raw.replace(",", "."); }
    if (!/^\d+(\.\d+)?$/.test(raw)) { return null; }
    var parts = raw.split(".");
    var fraction = ((parts[1] || "") + "000").slice(0, places);
    return parseInt(parts[0], 10) * Math.pow(10, places) + (places ? parseInt(fraction, 10) : 0);
  }

  function format(value, places, currency) {
    var unit = Math.pow(10, places);
    var whole = Math.floor(value / unit).toLocaleString("en");
    if (!places) { return whole + " " + currency; }
    var rest = String(value % unit);
    while (rest.length < places) { rest = "0" + rest; }
    return whole + "." + rest + " " + currency;
  }

  function updateUnallocated() {
    var form = document.getElementById("payment-form");
    var line = document.getElementById("unallocated");
    if (!form || !line) { return; }
    var currency = line.getAttribute("data-currency");
    var places = parseInt(line.getAttribute("data-places"), 10) || 0;
    var amount = minor(form.querySelector("[name=amount]").value, places);
    var allocated = 0;
    form.querySelectorAll("[data-allocation]").forEach(function (input) {
      var value = minor(input.value, places);
      if (value !== null) { allocated += value; }
    });
    document.getElementById("allocated-total").textContent = format(allocated, places, currency);
    if (amount !== null) {
      document.getElementById("unallocated-total").textContent =
        format(Math.max(0, amount - allocated), places, currency);
    }
  }

  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("[data-allocation]")) {
      updateUnallocated();
    }
  });
})();
