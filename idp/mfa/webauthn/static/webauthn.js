/* Passkey ceremonies for the hosted pages (no inline handlers: the pages' CSP allows only
 * nonce'd scripts). A form holds its options as a JSON data block,
 * <script type="application/json" data-webauthn="create|get">; on submit the browser's ceremony
 * runs and its result (PublicKeyCredential.toJSON()) is posted in the form's hidden
 * "credential" field. data-webauthn-conditional="true" also starts a conditional request
 * (passkeys offered in the autofill of the username field) as soon as the page loads; the
 * block may then sit outside its form, named by data-webauthn-form. */
(function () {
  "use strict";

  function showError(block) {
    var box = document.getElementById(block.getAttribute("data-webauthn-error"));
    if (box) { box.hidden = false; box.focus(); }
  }

  function post(form, credential) {
    form.querySelector("input[name=credential]").value = JSON.stringify(credential.toJSON());
    form.submit();
  }

  var pending = null;

  function run(block, form, mode, mediation) {
    if (!window.PublicKeyCredential) { showError(block); return Promise.resolve(); }
    if (pending) { pending.abort(); }
    var controller = new AbortController();
    pending = controller;
    var json = JSON.parse(block.textContent);
    var request;
    if (mode === "create") {
      request = navigator.credentials.create({publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(json)});
    } else {
      var ask = {publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(json), signal: controller.signal};
      if (mediation) { ask.mediation = mediation; }
      request = navigator.credentials.get(ask);
    }
    return request.then(function (credential) {
      if (credential) { post(form, credential); }
    }, function (error) {
      if (error && error.name === "AbortError") { return; }
      showError(block);
    });
  }

  document.querySelectorAll("script[type='application/json'][data-webauthn]").forEach(function (block) {
    var mode = block.getAttribute("data-webauthn");
    var form = block.hasAttribute("data-webauthn-form")
      ? document.getElementById(block.getAttribute("data-webauthn-form")) : block.closest("form");
    form.addEventListener("submit", function (event) {
      if (form.querySelector("input[name=credential]").value) { return; }
      event.preventDefault();
      run(block, form, mode, null);
    });
    if (mode === "get" && block.getAttribute("data-webauthn-conditional") === "true" &&
        window.PublicKeyCredential && PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
        if (available) { run(block, form, mode, "conditional"); }
      });
    }
  });
})();
