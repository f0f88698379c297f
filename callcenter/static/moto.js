// Card by phone (MOTO): Stripe card Element -> confirmCardSetup -> PaymentMethod id, posted to
// our server, which authorises the order with payment_method_options[card][moto]=true. The
// card number goes from this page to Stripe only. The SetupIntent is asked for (POST
// data-setup-url) once the agent starts typing the card, or on submit, not on page view.
(function () {
  "use strict";
  var form = document.getElementById("moto-form");
  if (!form || typeof Stripe === "undefined") { return; }
  var stripe = Stripe(form.dataset.publishableKey);
  var card = stripe.elements().create("card");
  card.mount("#card-element");
  var button = document.getElementById("authorise-card");
  var status = document.getElementById("card-status");
  var error = document.getElementById("card-error");

  function busy(on, text) {
    button.disabled = on;
    status.textContent = text || "";
  }
  function fail(message) {
    busy(false);
    error.textContent = message;
    error.hidden = !message;
  }
  var token = document.querySelector('meta[name="csrf-token"]').content;
  var setup = null;  // the SetupIntent's client secret, asked for once
  function cardSetup() {
    if (!setup) {
      setup = fetch(form.dataset.setupUrl, {
        method: "POST", credentials: "same-origin",
        headers: { "X-CSRFToken": token, "Accept": "application/json" }
      }).then(function (response) { return response.json(); }).catch(function () {
        return {};
      }).then(function (answer) {
        if (!answer.client_secret) {
          throw new Error(answer.detail || answer.message ||
                          "The card form could not be prepared; try again or send a payment link.");
        }
        return answer.client_secret;
      });
      setup.catch(function () { setup = null; });
    }
    return setup;
  }
  function prepare() { cardSetup().catch(function () {}); }  // a problem shows on submit
  card.on("focus", prepare);
  card.on("change", prepare);

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    fail("");
    busy(true, "Checking the card…");
    try {
      var secret;
      try {
        secret = await cardSetup();
      } catch (problem) {
        fail(problem.message);
        return;
      }
      var result = await stripe.confirmCardSetup(secret, { payment_method: { card: card } });
      if (result.error) {
        fail(result.error.message || "Check the card details.");
        return;
      }
      setup = null;  // used: another card gets a fresh SetupIntent
      form.querySelector('input[name="payment_method"]').value = result.setupIntent.payment_method;
      busy(true, "Authorising…");
      var response = await fetch(form.action, {
        method: "POST", body: new FormData(form), credentials: "same-origin",
        headers: { "X-CSRFToken": token, "Accept": "application/json" }
      });
      var answer = await response.json();
      if (answer.status === "authorised") {
        busy(true, "Card authorised. Opening the order…");
        window.location.assign(answer.redirect);
        return;
      }
      // A decline keeps the order awaiting payment: the page again, with the message, for
      // another card or a payment link.
      fail(answer.message || "The card was not authorised.");
      if (answer.retry) { window.location.assign(answer.retry); }
    } catch (err) {
      fail("Something went wrong; nothing was charged. Try again or send a payment link.");
    }
  });
})();
