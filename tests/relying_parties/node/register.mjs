// A web app of idp built on openid-client 6 that registers itself (RFC 7591) with an initial
// access token, then logs a user in with the authorization code flow and PKCE as the client it
// just became, and finally reads its own registration back (RFC 7592). ISSUER, INITIAL_TOKEN
// and CALLBACK_PORT come from the environment; the provider is on loopback (plain http), so the
// app registers as a native one (http redirect URIs are for loopback only). Prints the
// registration, the URL to open in the browser, then the result once the browser comes back.
import http from "node:http";
import * as client from "openid-client";

const say = (line) => process.stdout.write(JSON.stringify(line) + "\n");
const port = Number(process.env.CALLBACK_PORT);
const redirectUri = `http://127.0.0.1:${port}/cb`;

try {
  const config = await client.dynamicClientRegistration(new URL(process.env.ISSUER), {
    client_name: "Self-registered shop", application_type: "native", redirect_uris: [redirectUri],
    grant_types: ["authorization_code", "refresh_token"], response_types: ["code"],
    token_endpoint_auth_method: "client_secret_basic",
  }, undefined, { initialAccessToken: process.env.INITIAL_TOKEN, execute: [client.allowInsecureRequests] });
  const registered = config.clientMetadata();
  say({ step: "registered", client_id: registered.client_id, has_secret: Boolean(registered.client_secret),
        registration_client_uri: registered.registration_client_uri });
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri, scope: "openid email offline_access", state,
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: "S256",
  });
  const server = http.createServer(async (req, res) => {
    if (!req.url.startsWith("/cb?")) {
      res.statusCode = 404;
      res.end();
      return;
    }
    try {
      const tokens = await client.authorizationCodeGrant(config, new URL(req.url, redirectUri),
        { pkceCodeVerifier: verifier, expectedState: state });
      res.end("signed in");
      const own = await fetch(registered.registration_client_uri,
        { headers: { Authorization: `Bearer ${registered.registration_access_token}` } });
      say({ step: "tokens", claims: tokens.claims(), has_refresh_token: Boolean(tokens.refresh_token),
            scope: tokens.scope, registration_read: own.status, registered_name: (await own.json()).client_name });
    } catch (error) {
      res.statusCode = 400;
      res.end(String(error));
      say({ step: "error", name: error.name, code: error.code, error: error.error, message: error.message, cause: String(error.cause?.message ?? error.cause ?? ""), stack: String(error.stack).slice(0, 600) });
    }
    server.close();
  });
  server.listen(port, "127.0.0.1", () => say({ step: "url", url: url.href }));
} catch (error) {
  say({ step: "error", name: error.name, code: error.code, error: error.error, message: error.message, cause: String(error.cause?.message ?? error.cause ?? ""), stack: String(error.stack).slice(0, 600) });
  process.exitCode = 1;
}
