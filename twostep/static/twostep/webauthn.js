/* Security keys and passkeys (WebAuthn): the browser's side of the ceremonies.
 *
 * Each <form data-webauthn="register|key|passkey"> (templates mfa/webauthn/*.html) posts
 * its fields to data-options-url, hands the options to navigator.credentials.create() or
 * .get(), then posts its fields and the answer (PublicKeyCredential JSON, field
 * "credential") to its own action, with the form's CSRF token. The server answers JSON:
 * {redirect} or {error}. Progress is said in the form's [data-webauthn-status] (a polite
 * live region), a failure in its [data-webauthn-error] (role=alert), and the focus goes
 * back to the button; the texts come translated from the template's data-msg-*
 * attributes. A passkey form with data-autofill also offers the site's passkeys in the
 * browser's autofill (conditional mediation) where the browser can: that request is
 * started again after a failure, and renewed before its challenge expires.
 *
 * No library, no inline script: loaded with defer, it runs under the site's CSP.
 */
(function () {
  "use strict";

  function toBuffer(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) { b64 += "="; }
    var binary = atob(b64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) { bytes[i] = binary.charCodeAt(i); }
    return bytes.buffer;
  }

  function toText(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) { binary += String.fromCharCode(bytes[i]); }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function withIds(list) {
    return (list || []).map(function (item) {
      return Object.assign({}, item, { id: toBuffer(item.id) });
    });
  }

  function creationOptions(json) {
    if (window.PublicKeyCredential && PublicKeyCredential.parseCreationOptionsFromJSON) {
      return PublicKeyCredential.parseCreationOptionsFromJSON(json);
    }
    return Object.assign({}, json, {
      challenge: toBuffer(json.challenge),
      user: Object.assign({}, json.user, { id: toBuffer(json.user.id) }),
      excludeCredentials: withIds(json.excludeCredentials)
    });
  }

  function requestOptions(json) {
    if (window.PublicKeyCredential && PublicKeyCredential.parseRequestOptionsFromJSON) {
      return PublicKeyCredential.parseRequestOptionsFromJSON(json);
    }
    return Object.assign({}, json, {
      challenge: toBuffer(json.challenge),
      allowCredentials: withIds(json.allowCredentials)
    });
  }

  function credentialJSON(credential) {
    if (typeof credential.toJSON === "function") { return credential.toJSON(); }
    var r = credential.response;
    var response = { clientDataJSON: toText(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toText(r.attestationObject);
      response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      response.authenticatorData = toText(r.authenticatorData);
      response.signature = toText(r.signature);
      if (r.userHandle) { response.userHandle = toText(r.userHandle); }
    }
    return {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: response
    };
  }

  function post(url, form, credential) {
    var data = new FormData(form);
    if (credential) { data.set("credential", JSON.stringify(credentialJSON(credential))); }
    return fetch(url, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRFToken": data.get("csrfmiddlewaretoken") }
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (response.ok && !body.error) { return body; }
        var error = new Error(body.error || "");
        error.serverSaid = true;
        error.redirect = body.redirect;
        throw error;
      });
    });
  }

  function setUp(form) {
    var kind = form.dataset.webauthn;
    var status = form.querySelector("[data-webauthn-status]");
    var alertRegion = form.querySelector("[data-webauthn-error]");
    var button = form.querySelector("button[type=submit]");
    var msg = form.dataset;
    var busy = false;
    var autofill = null; // the AbortController of a pending conditional request

    function say(text) {
      status.textContent = text;
      if (alertRegion) { alertRegion.textContent = ""; }
    }

    function warn(text) {
      status.textContent = "";
      if (alertRegion) { alertRegion.textContent = text; } else { status.textContent = text; }
    }

    function explain(error) {
      if (error.serverSaid) { return error.message || msg.msgFailed; }
      switch (error.name) {
        case "NotAllowedError": return msg.msgCancelled;
        case "InvalidStateError": return msg.msgExists || msg.msgFailed;
        case "SecurityError": return msg.msgInvalidDomain;
        case "NotSupportedError": return msg.msgUnsupported;
        default: return msg.msgFailed;
      }
    }

    function finish(body) {
      say(msg.msgDone);
      window.location.assign(body.redirect);
    }

    function fail(error) {
      busy = false;
      button.disabled = false;
      if (error.name === "AbortError") { return; }
      warn(explain(error));
      button.focus();
      if (error.redirect) {
        window.setTimeout(function () { window.location.assign(error.redirect); }, 1500);
        return;
      }
      startAutofill(RETRY_MS);
    }

    function ceremony(options, mediation, signal) {
      if (kind === "register") {
        return navigator.credentials.create({ publicKey: creationOptions(options.publicKey) });
      }
      var request = { publicKey: requestOptions(options.publicKey) };
      if (mediation) { request.mediation = mediation; request.signal = signal; }
      return navigator.credentials.get(request);
    }

    function run(mediation) {
      var controller = mediation ? new AbortController() : null;
      if (controller) { autofill = controller; }
      return post(form.dataset.optionsUrl, form)
        .then(function (options) {
          if (!options.publicKey) { return finish(options); } // e.g. logged in meanwhile
          if (controller) { renewBeforeExpiry(controller, options.publicKey.timeout); }
          return ceremony(options, mediation, controller && controller.signal)
            .then(function (credential) { return answer(credential); });
        });
    }

    // The autofill's request waits as long as the page stays open, but its challenge lives
    // five minutes: ask for a new one a little before, and after a failure start again.
    var RETRY_MS = 5000;
    var retryMs = RETRY_MS;
    var autofillTimer = null;
    var conditional = false; // the browser offers passkeys in its autofill

    function renewBeforeExpiry(controller, timeout) {
      window.clearTimeout(autofillTimer);
      var renewIn = Math.max((timeout || 300000) - 30000, 10000);
      autofillTimer = window.setTimeout(function () {
        if (autofill === controller && !busy) {
          controller.abort();
          autofill = null;
          startAutofill(0);
        }
      }, renewIn);
    }

    function startAutofill(delay) {
      if (!conditional) { return; }
      window.clearTimeout(autofillTimer);
      autofillTimer = window.setTimeout(function () {
        if (busy || autofill) { return; }
        var started = run("conditional");
        var mine = autofill;
        started.then(function () { retryMs = RETRY_MS; }, function (error) {
          if (mine && mine.signal.aborted) { return; } // renewed, or a click took over
          autofill = null;
          busy = false;
          button.disabled = false;
          if (error.name !== "AbortError" && error.name !== "NotAllowedError") {
            warn(explain(error));
          }
          if (error.redirect) { return; }
          retryMs = Math.min(retryMs * 2, 60000); // a refusing server is not asked in a loop
          startAutofill(retryMs);
        });
      }, delay);
    }

    function answer(credential) {
      busy = true;
      button.disabled = true;
      say(msg.msgChecking);
      return post(form.action, form, credential).then(finish);
    }

    if (!window.PublicKeyCredential || !navigator.credentials) {
      if (kind === "passkey") { form.hidden = true; return; } // the password form remains
      say(msg.msgUnsupported);
      button.disabled = true;
      return;
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (busy) { return; }
      window.clearTimeout(autofillTimer);
      if (autofill) { autofill.abort(); autofill = null; }
      busy = true;
      button.disabled = true;
      say(msg.msgWaiting);
      run(null).catch(fail);
    });

    if (kind === "passkey" && form.dataset.autofill !== undefined &&
        PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
        conditional = Boolean(available);
        startAutofill(0);
      });
    }
  }

  document.querySelectorAll("form[data-webauthn]").forEach(setUp);
})();
