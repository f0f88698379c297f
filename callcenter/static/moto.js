// Card by phone (MOTO): Stripe card Element -> confirmCardSetup -> PaymentMethod id, posted to
// our server, which authorises the order with payment_method_options[card][moto]=true. The
// card number goes from this page to Stripe only.
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

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    fail("");
    busy(true, "Checking the card…");
    try {
      var setup = await stripe.confirmCardSetup(form.dataset.clientSecret, { payment_method: { card: card } });
      if (setup.error) {
        fail(setup.error.message || "Check the card details.");
        return;
      }
      form.querySelector('input[name="payment_method"]').value = setup.setupIntent.payment_method;
      busy(true, "Authorising…");
      var response = await fetch(form.action, {
        method: "POST", body: new FormData(form), credentials: "same-origin",
        headers: { "X-CSRFToken": document.querySelector('meta[name="csrf-token"]').content,
                   "Accept": "application/json" }
      });
      var answer = await response.json();
      if (answer.status === "authorised") {
        busy(true, "Card authorised. Opening the order…");
        window.location.assign(answer.redirect);
        return;
      }
      // A decline keeps the order awaiting payment: the page again, with the message and a
      // fresh SetupIntent, for another card or a payment link.
      fail(answer.message || "The card was not authorised.");
      if (answer.retry) { window.location.assign(answer.retry); }
    } catch (err) {
      fail("Something went wrong; nothing was charged. Try again or send a payment link.");
    }
  });
})();
