// With real Stripe keys: Stripe.js's Payment Element collects the card or bank details
// inside Stripe's frame; paydesk gives the PaymentIntent's client secret and Stripe sends the
// browser to the result page (after the bank's page, for iDEAL and Bancontact).
(function () {
  "use strict";
  var form = document.getElementById("element-form");
  if (!form || typeof window.Stripe !== "function") return;
  var data = form.dataset;
  var button = document.getElementById("pay-button");
  var errorBox = document.getElementById("card-error");
  var stripe = window.Stripe(data.publishableKey);
  var elements = null;

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = false;
    button.disabled = false;
  }

  fetch("/api/payments", {
    method: "POST",
    headers: { "Authorization": "Bearer " + data.token, "Content-Type": "application/json" },
    body: JSON.stringify({ order_id: data.orderId }),
    credentials: "omit"
  }).then(function (response) { return response.json(); }).then(function (payment) {
    if (!payment.client_secret) {
      showError((payment.error && payment.error.message) || "The payment could not be started.");
      return;
    }
    elements = stripe.elements({ clientSecret: payment.client_secret });
    elements.create("payment").mount("#payment-element");
  });

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    if (!elements) return;
    button.disabled = true;
    var result = await stripe.confirmPayment({
      elements: elements,
      confirmParams: { return_url: data.resultUrl }
    });
    if (result.error) {
      var reason = result.error.decline_code;
      showError(result.error.type === "card_error"
        ? "Your card was declined — try another card." + (reason ? " (Reason: " + reason + ")" : "")
        : result.error.message);
    }
  });
})();
