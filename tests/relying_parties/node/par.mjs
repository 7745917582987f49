// A web app of idp built on openid-client 6: the authorization code flow with PKCE, its
// authorization request pushed first (RFC 9126). ISSUER, CLIENT_ID, CLIENT_SECRET and
// CALLBACK_PORT come from the environment; the provider is on loopback (plain http). Prints the
// URL to open in the browser, then the result once the browser comes back to the callback.
import http from "node:http";
import * as client from "openid-client";

const say = (line) => process.stdout.write(JSON.stringify(line) + "\n");
const port = Number(process.env.CALLBACK_PORT);
const redirectUri = `http://127.0.0.1:${port}/cb`;

try {
  const config = await client.discovery(new URL(process.env.ISSUER), process.env.CLIENT_ID,
    process.env.CLIENT_SECRET, undefined, { execute: [client.allowInsecureRequests] });
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = await client.buildAuthorizationUrlWithPAR(config, {
    redirect_uri: redirectUri, scope: "openid email offline_access", state,
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: "S256",
  });
  const server = http.createServer(async (req, res) => {
    try {
      const tokens = await client.authorizationCodeGrant(config, new URL(req.url, redirectUri),
        { pkceCodeVerifier: verifier, expectedState: state });
      res.end("signed in");
      say({ step: "tokens", claims: tokens.claims(), has_refresh_token: Boolean(tokens.refresh_token),
            scope: tokens.scope });
    } catch (error) {
      res.statusCode = 400;
      res.end(String(error));
      say({ step: "error", name: error.name, code: error.code, error: error.error, message: error.message });
    }
    server.close();
  });
  server.listen(port, "127.0.0.1", () => say({ step: "url", url: url.href }));
} catch (error) {
  say({ step: "error", name: error.name, code: error.code, error: error.error, message: error.message });
  process.exitCode = 1;
}
