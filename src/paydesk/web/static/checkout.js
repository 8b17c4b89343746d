// The offline checkout: what Stripe.js does, in a few lines. The card goes from the browser
// straight to the Stripe API (here the sandbox) with the publishable key; paydesk receives
// only the PaymentMethod id, then confirms and answers with the next step.
(function () {
  "use strict";
  var form = document.getElementById("card-form");
  if (!form) return;
  var number = document.getElementById("card-number");
  var expiry = document.getElementById("card-expiry");
  var cvc = document.getElementById("card-cvc");
  var button = document.getElementById("pay-button");
  var errorBox = document.getElementById("card-error");
  var statusBox = document.getElementById("pay-status");
  var data = form.dataset;

  function showError(message, field) {
    errorBox.textContent = message;
    errorBox.hidden = false;
    [number, expiry, cvc].forEach(function (input) {
      input.setAttribute("aria-invalid", input === field ? "true" : "false");
    });
    statusBox.textContent = "";
    button.disabled = false;
    button.removeAttribute("aria-busy");
    (field || number).focus();
  }

  function clearError() {
    errorBox.textContent = "";
    errorBox.hidden = true;
    [number, expiry, cvc].forEach(function (input) { input.removeAttribute("aria-invalid"); });
  }

  function busy(message) {
    statusBox.textContent = message;
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
  }

  function parseExpiry(text) {
    var match = /^\s*(\d{1,2})\s*\/?\s*(\d{2}|\d{4})\s*$/.exec(text);
    if (!match) return null;
    var month = parseInt(match[1], 10);
    var year = parseInt(match[2], 10);
    if (year < 100) year += 2000;
    if (month < 1 || month > 12) return null;
    return { month: month, year: year };
  }

  expiry.addEventListener("input", function () {
    var digits = expiry.value.replace(/\D/g, "").slice(0, 4);
    if (digits.length > 2) expiry.value = digits.slice(0, 2) + " / " + digits.slice(2);
  });

  async function createPaymentMethod(cardNumber, exp, code) {
    var body = new URLSearchParams({
      "type": "card",
      "card[number]": cardNumber,
      "card[exp_month]": String(exp.month),
      "card[exp_year]": String(exp.year),
      "card[cvc]": code
    });
    var response = await fetch(data.apiBase + "/v1/payment_methods", {
      method: "POST",
      headers: {
        "Authorization": "Bearer " + data.publishableKey,
        "Content-Type": "application/x-www-form-urlencoded"
      },
      body: body.toString(),
      credentials: "omit",
      referrerPolicy: "no-referrer"
    });
    return { ok: response.ok, body: await response.json() };
  }

  async function startPayment(paymentMethod) {
    var response = await fetch("/api/payments", {
      method: "POST",
      headers: {
        "Authorization": "Bearer " + data.token,
        "Content-Type": "application/json"
      },
      body: JSON.stringify({
        order_id: data.orderId,
        payment_method: paymentMethod,
        return_url: data.resultUrl
      }),
      credentials: "omit"
    });
    return { status: response.status, body: await response.json() };
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    if (button.disabled) return;
    clearError();
    var cardNumber = number.value.replace(/[\s-]/g, "");
    var exp = parseExpiry(expiry.value);
    var code = cvc.value.trim();
    if (!/^\d{12,19}$/.test(cardNumber)) {
      showError("Enter the card number as printed on the card.", number);
      return;
    }
    if (!exp) {
      showError("Enter the expiry date as MM / YY.", expiry);
      return;
    }
    if (!/^\d{3,4}$/.test(code)) {
      showError("Enter the 3 or 4 digit security code.", cvc);
      return;
    }
    busy("Processing your payment…");
    try {
      var method = await createPaymentMethod(cardNumber, exp, code);
      if (!method.ok) {
        var cardError = method.body.error || {};
        var field = cardError.param && cardError.param.indexOf("cvc") >= 0 ? cvc
          : cardError.param && cardError.param.indexOf("exp") >= 0 ? expiry : number;
        showError(cardError.message || "This card could not be used — try another card.", field);
        return;
      }
      var answer = await startPayment(method.body.id);
      var payment = answer.body;
      if (answer.status === 200) {
        if (payment.next_action && payment.next_action.redirect_url) {
          busy("Taking you to your bank to confirm the payment…");
          window.location.assign(payment.next_action.redirect_url);
        } else {
          window.location.assign(data.resultUrl);
        }
        return;
      }
      var error = (payment && payment.error) || {};
      if (answer.status === 402) {
        var reason = error.decline_code || error.code;
        showError("Your card was declined — try another card." +
          (reason ? " (Reason: " + reason + ")" : ""), number);
        number.select();
        return;
      }
      if (error.code === "order_already_paid") {
        window.location.assign(data.resultUrl);
        return;
      }
      showError(error.message || "The payment could not be started — please try again.", number);
    } catch (failure) {
      showError("We could not reach the payment service — check your connection and try again.",
        number);
    }
  });
})();
