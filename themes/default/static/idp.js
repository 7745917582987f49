/* idp.js: direct-to-API login from the browser, mirroring authrocket.js.

     <script src="https://id.example.com/themes/default/static/idp.js"></script>
     IdP.configure({ realm: "acme", clientId: "..." });       // optional defaults
     IdP.authenticate({ email: email, password: password })
       .then(function (result) {
         if (result.result === "needs_mfa") {
           // ask for the code (result.factors: "totp", "sms", "recovery"),
           // IdP.sendCode({ token: result.token }) texts one when "sms" is offered
           return IdP.authenticateCode({ email: email, token: result.token, code: code });
         }
         return result;                                        // { result: "full_login", token, user }
       })
       .catch(function (error) {                               // error.error, error.fields,
         showMessage(error.message);                           // error.attemptsLeft, error.status
       });

   The full login token is a JWT; the app's server verifies it against the realm's JWKS
   (/realms/<realm>/jwks). Calls go to the server this script was loaded from (or `url`),
   without cookies; the page's origin must be the origin of one of the client's registered
   redirect URIs. No dependencies: fetch and Promise only. */
(function (global) {
  "use strict";

  var script = global.document && global.document.currentScript;
  var defaults = { url: script ? new URL(script.src, global.location.href).origin : "" };

  function option(options, name) {
    var value = options && options[name] !== undefined ? options[name] : defaults[name];
    if (value === undefined || value === null || value === "") {
      throw new Error("idp.js: '" + name + "' is required");
    }
    return value;
  }

  function sessionsUrl(options, action) {
    return option(options, "url").replace(/\/$/, "") + "/api/v1/realms/" +
      encodeURIComponent(option(options, "realm")) + "/sessions/" + action;
  }

  function apiError(response, body) {
    var error = new Error(body.error_description || "The request failed (" + response.status + ").");
    error.status = response.status;
    error.error = body.error || "request_failed";
    error.fields = body.fields || {};
    if (body.attempts_left !== undefined) {
      error.attemptsLeft = body.attempts_left;
    }
    if (body.retry_after !== undefined) {
      error.retryAfter = body.retry_after;
    }
    return error;
  }

  function post(url, body) {
    return global.fetch(url, {
      method: "POST",
      mode: "cors",
      credentials: "omit",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () {
        return {};
      }).then(function (data) {
        if (!response.ok) {
          throw apiError(response, data);
        }
        return data;
      });
    });
  }

  function compact(body) {
    var result = {};
    Object.keys(body).forEach(function (key) {
      if (body[key] !== undefined && body[key] !== null) {
        result[key] = body[key];
      }
    });
    return result;
  }

  var IdP = {
    /** Defaults for the calls below: url, realm, clientId. */
    configure: function (options) {
      Object.keys(options || {}).forEach(function (key) {
        defaults[key] = options[key];
      });
      return IdP;
    },

    /** Resolves to {result: "full_login", token, user} or {result: "needs_mfa", token, factors}. */
    authenticate: function (options) {
      options = options || {};
      return Promise.resolve().then(function () {
        return post(sessionsUrl(options, "authenticate"), compact({
          email: option(options, "email"),
          password: option(options, "password"),
          client_id: option(options, "clientId"),
          scope: options.scope,
          nonce: options.nonce,
          acr_values: options.acrValues
        }));
      });
    },

    /** Completes a needs_mfa login with a TOTP, SMS or recovery code; resolves like authenticate. */
    authenticateCode: function (options) {
      options = options || {};
      return Promise.resolve().then(function () {
        return post(sessionsUrl(options, "complete_mfa"), compact({
          token: option(options, "token"),
          code: String(option(options, "code")),
          factor: options.factor,
          email: options.email
        }));
      });
    },

    /** Texts an SMS code for a needs_mfa login (same cool-down and caps as the hosted pages). */
    sendCode: function (options) {
      options = options || {};
      return Promise.resolve().then(function () {
        return post(sessionsUrl(options, "send_code"), {
          token: option(options, "token"),
          factor: options.factor || "sms"
        });
      });
    }
  };

  global.IdP = IdP;
}(typeof window !== "undefined" ? window : this));
