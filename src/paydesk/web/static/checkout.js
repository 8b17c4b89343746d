// The offline checkout: what Stripe.js does, in a few lines. Card and bank details go from
// the browser straight to the Stripe API (here the sandbox) with the publishable key;
// paydesk receives only the PaymentMethod id, then confirms and answers with the next step.
(function () {
  "use strict";
  var form = document.getElementById("card-form");
  if (!form) return;
  var data = form.dataset;
  var button = document.getElementById("pay-button");
  var errorBox = document.getElementById("card-error");
  var statusBox = document.getElementById("pay-status");
  var tabs = Array.prototype.slice.call(form.querySelectorAll('[role="tab"]'));
  var panels = Array.prototype.slice.call(form.querySelectorAll(".panel"));
  var current = panels[0].dataset.method;

  function byId(id) { return document.getElementById(id); }

  function panelOf(method) {
    return panels.filter(function (panel) { return panel.dataset.method === method; })[0];
  }

  function fields() {
    return Array.prototype.slice.call(panelOf(current).querySelectorAll("input, select"));
  }

  function showError(message, field) {
    errorBox.textContent = message;
    errorBox.hidden = false;
    fields().forEach(function (input) {
      input.setAttribute("aria-invalid", input === field ? "true" : "false");
    });
    statusBox.textContent = "";
    button.disabled = false;
    button.removeAttribute("aria-busy");
    var target = field || fields()[0];
    if (target) target.focus(); else button.focus();
  }

  function clearError() {
    errorBox.textContent = "";
    errorBox.hidden = true;
    panels.forEach(function (panel) {
      panel.querySelectorAll("[aria-invalid]").forEach(function (input) {
        input.removeAttribute("aria-invalid");
      });
    });
  }

  function busy(message) {
    statusBox.textContent = message;
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
  }

  // -- the method tabs: arrow keys move between them, as WAI-ARIA's tabs pattern says ------

  function choose(tab, focus) {
    tabs.forEach(function (other) {
      var selected = other === tab;
      other.setAttribute("aria-selected", selected ? "true" : "false");
      other.tabIndex = selected ? 0 : -1;
    });
    current = tab.dataset.method;
    panels.forEach(function (panel) { panel.hidden = panel.dataset.method !== current; });
    clearError();
    if (focus) tab.focus();
  }

  tabs.forEach(function (tab, index) {
    tab.addEventListener("click", function () { choose(tab, false); });
    tab.addEventListener("keydown", function (event) {
      var next = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: tabs.length - 1 };
      if (!(event.key in next)) return;
      event.preventDefault();
      choose(tabs[(next[event.key] + tabs.length) % tabs.length], true);
    });
  });

  // -- each method's details, checked before they go to Stripe -----------------------------

  function parseExpiry(text) {
    var match = /^\s*(\d{1,2})\s*\/?\s*(\d{2}|\d{4})\s*$/.exec(text);
    if (!match) return null;
    var month = parseInt(match[1], 10);
    var year = parseInt(match[2], 10);
    if (year < 100) year += 2000;
    if (month < 1 || month > 12) return null;
    return { month: month, year: year };
  }

  var expiry = byId("card-expiry");
  if (expiry) {
    expiry.addEventListener("input", function () {
      var digits = expiry.value.replace(/\D/g, "").slice(0, 4);
      if (digits.length > 2) expiry.value = digits.slice(0, 2) + " / " + digits.slice(2);
    });
  }

  // Each returns the PaymentMethod's parameters, or {problem, field} to show the customer.
  var details = {
    card: function () {
      var number = byId("card-number");
      var cvc = byId("card-cvc");
      var digits = number.value.replace(/[\s-]/g, "");
      var exp = parseExpiry(expiry.value);
      var code = cvc.value.trim();
      if (!/^\d{12,19}$/.test(digits)) {
        return { problem: "Enter the card number as printed on the card.", field: number };
      }
      if (!exp) return { problem: "Enter the expiry date as MM / YY.", field: expiry };
      if (!/^\d{3,4}$/.test(code)) {
        return { problem: "Enter the 3 or 4 digit security code.", field: cvc };
      }
      return { params: {
        "type": "card",
        "card[number]": digits,
        "card[exp_month]": String(exp.month),
        "card[exp_year]": String(exp.year),
        "card[cvc]": code
      } };
    },
    sepa_debit: function () {
      var name = byId("sepa-name");
      var email = byId("sepa-email");
      var iban = byId("sepa-iban");
      var mandate = byId("sepa-mandate");
      var account = iban.value.replace(/\s/g, "").toUpperCase();
      if (!name.value.trim()) return { problem: "Enter the account holder's name.", field: name };
      if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email.value.trim())) {
        return { problem: "Enter your e-mail address, for the debit's notice.", field: email };
      }
      if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(account)) {
        return { problem: "Enter the IBAN as printed on your bank statement.", field: iban };
      }
      if (!mandate.checked) {
        return { problem: "Accept the SEPA Direct Debit mandate to pay by debit.", field: mandate };
      }
      return { mandate: true, params: {
        "type": "sepa_debit",
        "sepa_debit[iban]": account,
        "billing_details[name]": name.value.trim(),
        "billing_details[email]": email.value.trim()
      } };
    },
    ideal: function () {
      return { params: { "type": "ideal" } };
    },
    bancontact: function () {
      var name = byId("bancontact-name");
      if (!name.value.trim()) return { problem: "Enter the account holder's name.", field: name };
      return { params: { "type": "bancontact", "billing_details[name]": name.value.trim() } };
    }
  };

  // The field a Stripe error names (`param`), on the method's panel.
  function fieldFor(param) {
    var names = {
      card: [["cvc", "card-cvc"], ["exp", "card-expiry"], ["", "card-number"]],
      sepa_debit: [["iban", "sepa-iban"], ["email", "sepa-email"], ["", "sepa-name"]],
      bancontact: [["", "bancontact-name"]]
    }[current] || [];
    var match = names.filter(function (pair) { return (param || "").indexOf(pair[0]) >= 0; })[0];
    return match ? byId(match[1]) : null;
  }

  async function createPaymentMethod(params) {
    var response = await fetch(data.apiBase + "/v1/payment_methods", {
      method: "POST",
      headers: {
        "Authorization": "Bearer " + data.publishableKey,
        "Content-Type": "application/x-www-form-urlencoded"
      },
      body: new URLSearchParams(params).toString(),
      credentials: "omit",
      referrerPolicy: "no-referrer"
    });
    return { ok: response.ok, body: await response.json() };
  }

  // The result page, told which method was used: a bank that refused leaves no charge.
  function resultUrl() {
    return data.resultUrl + "&method=" + encodeURIComponent(current);
  }

  async function startPayment(paymentMethod, mandate) {
    var response = await fetch("/api/payments", {
      method: "POST",
      headers: {
        "Authorization": "Bearer " + data.token,
        "Content-Type": "application/json"
      },
      body: JSON.stringify({
        order_id: data.orderId,
        payment_method: paymentMethod,
        return_url: resultUrl(),
        mandate_accepted: mandate
      }),
      credentials: "omit"
    });
    return { status: response.status, body: await response.json() };
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    if (button.disabled) return;
    clearError();
    var method = current;
    var entered = details[method]();
    if (entered.problem) {
      showError(entered.problem, entered.field);
      return;
    }
    busy("Processing your payment…");
    try {
      var created = await createPaymentMethod(entered.params);
      if (!created.ok) {
        var detailError = created.body.error || {};
        showError(detailError.message || "These details could not be used — check them and try again.",
          fieldFor(detailError.param));
        return;
      }
      var answer = await startPayment(created.body.id, Boolean(entered.mandate));
      var payment = answer.body;
      if (answer.status === 200) {
        if (payment.next_action && payment.next_action.redirect_url) {
          busy("Taking you to your bank to confirm the payment…");
          window.location.assign(payment.next_action.redirect_url);
        } else {
          window.location.assign(resultUrl());
        }
        return;
      }
      var error = (payment && payment.error) || {};
      if (answer.status === 402 && method === "card") {
        var reason = error.decline_code || error.code;
        var number = byId("card-number");
        showError("Your card was declined — try another card." +
          (reason ? " (Reason: " + reason + ")" : ""), number);
        number.select();
        return;
      }
      if (answer.status === 402) {
        showError("Your bank refused the payment — choose another way to pay.", null);
        return;
      }
      if (error.code === "order_already_paid") {
        window.location.assign(data.resultUrl);
        return;
      }
      showError(error.message || "The payment could not be started — please try again.", null);
    } catch (failure) {
      showError("We could not reach the payment service — check your connection and try again.",
        null);
    }
  });
})();
