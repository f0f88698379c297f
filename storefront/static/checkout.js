// Checkout: Stripe card Element -> confirmCardSetup -> PaymentMethod -> our server creates and
// confirms the PaymentIntent; 3-D Secure runs through confirmCardPayment when asked.
// The SetupIntent is asked for (POST data-setup-url) once the shopper starts entering a card,
// or at the latest on submit; never for merely opening the page. A used one is not reused.
(function () {
  "use strict";
  var form = document.getElementById("checkout-form");
  if (!form) { return; }

  // Another country: its regions, and the shipping options and totals for it; another
  // shipping method: the totals. (Done here rather than with hx-* attributes: a page that
  // loads a Stripe.js stand-in may redefine the global Element, which htmx relies on.)
  async function refresh(id, params, replaceWhole) {
    var box = document.getElementById(id);
    if (!box) { return; }
    var response = await fetch(box.dataset.url + "?" + new URLSearchParams(params),
                               { credentials: "same-origin", headers: { "HX-Request": "true" } });
    if (!response.ok) { return; }
    var html = await response.text();
    // The delivery choice made while this answer was on its way is the shopper's: keep it.
    var kept = form.querySelector('input[name="ship_complete"]:checked');
    if (replaceWhole) { box.outerHTML = html; } else { box.innerHTML = html; }
    var again = kept && form.querySelector('input[name="ship_complete"][value="' + kept.value + '"]');
    if (again) { again.checked = true; }
  }
  function shipTo() {
    return form.querySelector('input[name="ship_to"]:checked');
  }
  function choices() {
    var method = form.querySelector('input[name="shipping_method"]:checked');
    var book = shipTo();
    var params = { country: document.getElementById("country").value,
                   shipping_method: method ? method.value : "" };
    if (book) { params.ship_to = book.value; }
    var together = form.querySelector('input[name="ship_complete"]:checked');
    if (together) { params.ship_complete = together.value; }
    return params;
  }
  // A company's checkout: an address from the book hides the new address's fields; on
  // account hides the card and the gift card.
  function onAccount() {
    var chosen = form.querySelector('input[name="payment"]:checked');
    return !!chosen && chosen.value === "on_account";
  }
  function showChoices() {
    var book = shipTo();
    var fields = document.getElementById("new-address");
    if (fields && book) { fields.hidden = book.value !== "new"; }
    ["card-box", "gift-card-box"].forEach(function (id) {
      var box = document.getElementById(id);
      if (box) { box.hidden = onAccount(); }
    });
  }
  showChoices();
  form.addEventListener("change", function (event) {
    if (event.target.name === "payment") { showChoices(); }
    if (event.target.name === "ship_to") { showChoices(); refresh("review", choices(), false); }
  });
  var country = document.getElementById("country");
  if (country) {
    country.addEventListener("change", function () {
      refresh("region-field", { country: country.value }, true);
      refresh("review", choices(), false);
    });
  }
  var review = document.getElementById("review");
  if (review) {
    review.addEventListener("change", function (event) {
      if (event.target.name === "shipping_method") { refresh("review", choices(), false); }
    });
  }

  // The gift card: what it pays of the order as it stands, asked again when the code, the
  // country or the shipping method changes.
  var apply = document.getElementById("apply-gift-card");
  async function quoteGiftCard() {
    var response = await fetch(apply.dataset.url, {
      method: "POST", body: new FormData(form), credentials: "same-origin",
      headers: { "X-CSRFToken": document.querySelector('meta[name="csrf-token"]').content }
    });
    var old = document.getElementById("gift-card-result");
    // 429: too many codes tried; the fragment says how long to wait.
    if ((response.ok || response.status === 429) && old) { old.outerHTML = await response.text(); }
  }
  if (apply) {
    apply.addEventListener("click", quoteGiftCard);
    ["gift_card", "country", "review"].forEach(function (id) {
      var el = document.getElementById(id);
      if (el) { el.addEventListener("change", quoteGiftCard); }
    });
  }

  var button = document.getElementById("place-order");
  var status = document.getElementById("checkout-status");
  function show(id, message) {
    var el = document.getElementById(id);
    if (!el) { el = document.getElementById("form-error"); }
    el.textContent = message;
    el.hidden = !message;
    var input = document.getElementById(id.replace(/-error$/, ""));
    if (input && input.tagName !== "DIV") {
      if (message) { input.setAttribute("aria-invalid", "true"); } else { input.removeAttribute("aria-invalid"); }
    }
  }
  // The answer's errors come as a JSON object whose keys are sorted (city before full_name):
  // focus goes to the invalid field that comes FIRST on the page, whatever the key order.
  function focusFirst(names) {
    var fields = names.map(function (name) {
      return document.getElementById(name) || form.querySelector('[name="' + name + '"]');
    }).filter(function (el) { return el && el.focus && !el.closest("[hidden]"); });
    fields.sort(function (a, b) {
      return a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1;
    });
    if (fields.length) { fields[0].focus(); }
  }
  function clearErrors() {
    form.querySelectorAll(".error, #form-error").forEach(function (el) {
      if (el.id) { show(el.id, ""); }
    });
  }
  function busy(on, text) {
    button.disabled = on;
    status.textContent = text || "";
  }
  async function post(url, body) {
    var response = await fetch(url, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-CSRFToken": document.querySelector('meta[name="csrf-token"]').content,
                 "Accept": "application/json" }
    });
    return response.json();
  }
  function showErrors(answer) {
    if (!answer.errors) {
      show("form-error", answer.detail || answer.message ||
           "Something went wrong while placing the order. Please try again.");
      return;
    }
    Object.keys(answer.errors).forEach(function (name) {
      show(name + "-error", answer.errors[name]);
    });
    focusFirst(Object.keys(answer.errors));
  }

  // On account there is no card: the order is placed at once, Stripe.js or not.
  var placing = false;
  form.addEventListener("submit", async function (event) {
    if (!onAccount()) { return; }  // the card's handler below
    event.preventDefault();
    event.stopImmediatePropagation();
    if (placing) { return; }
    placing = true;
    clearErrors();
    busy(true, "Placing your order…");
    try {
      var answer = await post(form.action, new FormData(form));
      if (answer.status === "confirmed") {
        busy(true, "Order placed. Opening your confirmation…");
        window.location.assign(answer.redirect);
        return;
      }
      busy(false);
      showErrors(answer);
    } catch (err) {
      busy(false);
      show("form-error", "Something went wrong while placing the order. Please try again.");
    } finally {
      placing = false;
    }
  });

  if (typeof Stripe === "undefined") { return; }  // the card form needs Stripe.js
  var stripe = Stripe(form.dataset.publishableKey);
  var card = stripe.elements().create("card");
  card.mount("#card-element");

  // The SetupIntent's client secret: one request, shared by whoever asks while it runs.
  var setup = null;
  function cardSetup() {
    if (!setup) {
      setup = post(form.dataset.setupUrl, new FormData()).catch(function () {
        return {};  // no answer, or not JSON: the message below
      }).then(function (answer) {
        if (!answer.client_secret) {
          var errors = answer.errors || {};
          throw new Error(answer.detail || errors.form || errors.card ||
                          "The card form could not be prepared. Please try again.");
        }
        return answer.client_secret;
      });
      setup.catch(function () { setup = null; });  // ask again next time
    }
    return setup;
  }
  function prepare() { cardSetup().catch(function () {}); }  // a problem shows on submit
  card.on("focus", prepare);
  card.on("change", prepare);

  // The answers of the server, each settling the payment or saying what to do next:
  // confirmed -> go on; requires_action -> run 3-D Secure here, then report to complete_url,
  // saying when the shopper gave up (only then is the payment cancelled); processing -> the
  // bank (or the challenge in the first submit) has not finished: ask complete_url again,
  // less often as time goes by, without ever cancelling it; declined / errors -> show them.
  async function handle(answer, polls) {
    polls = polls || 0;
    if (answer.status === "confirmed") {
      busy(true, "Order confirmed. Opening your confirmation…");
      window.location.assign(answer.redirect);
      return;
    }
    if (answer.status === "requires_action") {
      busy(true, "Your bank asks you to confirm the payment…");
      var result = await stripe.confirmCardPayment(answer.client_secret);
      busy(true, result.error ? "" : "Checking the payment…");
      var report = new FormData();
      if (result.error) { report.append("gave_up", "1"); }
      return handle(await post(answer.complete_url, report));
    }
    if (answer.status === "processing") {
      busy(true, answer.message);
      var wait = Math.min(1500 * Math.pow(1.5, polls), 10000);
      await new Promise(function (r) { setTimeout(r, wait); });
      return handle(await post(answer.complete_url, new FormData()), polls + 1);
    }
    busy(false);
    if (answer.status === "declined") {
      if (answer.key) { form.querySelector('input[name="key"]').value = answer.key; }
      show("card-error", answer.message);
      return;
    }
    if (!answer.errors) {
      show("form-error", answer.detail || "Something went wrong while placing the order. Please try again.");
      return;
    }
    var errors = answer.errors;
    var gift = document.getElementById("gift-card-result");
    if (errors.card && gift) { gift.dataset.coversAll = "false"; }  // the card is needed after all
    Object.keys(errors).forEach(function (name) {
      show(name + "-error", errors[name]);
    });
    focusFirst(Object.keys(errors));
  }

  var submitting = false;  // one payment per page at a time: a second submit is ignored
  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    if (submitting) { return; }
    submitting = true;
    clearErrors();
    try {
      var gift = document.getElementById("gift-card-result");
      if (gift && gift.dataset.coversAll === "true") {
        // The gift card pays the whole order: no card step.
        form.querySelector('input[name="payment_method"]').value = "";
        busy(true, "Placing your order…");
        await handle(await post(form.action, new FormData(form)));
        return;
      }
      busy(true, "Checking your card…");
      var secret;
      try {
        secret = await cardSetup();
      } catch (problem) {
        busy(false);
        show("card-error", problem.message);
        return;
      }
      var result = await stripe.confirmCardSetup(secret, { payment_method: { card: card } });
      if (result.error) {
        busy(false);
        show("card-error", (result.error.message || "Check your card details.") + "");
        return;
      }
      setup = null;  // a SetupIntent serves one card: another try gets a fresh one
      form.querySelector('input[name="payment_method"]').value = result.setupIntent.payment_method;
      busy(true, "Placing your order…");
      await handle(await post(form.action, new FormData(form)));
    } catch (err) {
      busy(false);
      show("form-error", "Something went wrong while placing the order; nothing was charged. Please try again.");
    } finally {
      submitting = false;
    }
  });
})();
