// A single-page app of idp built on openid-client 6, sender-constraining its tokens with DPoP
// (RFC 9449): a fresh key pair, the authorization code flow with PKCE and dpop_jkt, the code
// redeemed with a DPoP proof, userinfo read with the DPoP-bound token, a refresh (the refresh
// token is bound to the key too: a public client), and userinfo again. openid-client answers
// the server's nonce challenges (use_dpop_nonce) on its own. ISSUER, CLIENT_ID and CALLBACK_PORT
// come from the environment; the provider is on loopback (plain http). Prints the URL to open in
// the browser, then the result once the browser comes back to the callback.
import http from "node:http";
import * as client from "openid-client";

const say = (line) => process.stdout.write(JSON.stringify(line) + "\n");
const port = Number(process.env.CALLBACK_PORT);
const redirectUri = `http://127.0.0.1:${port}/cb`;

try {
  const config = await client.discovery(new URL(process.env.ISSUER), process.env.CLIENT_ID, undefined,
    client.None(), { execute: [client.allowInsecureRequests] });
  const DPoP = client.getDPoPHandle(config, await client.randomDPoPKeyPair("ES256"));
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri, scope: "openid email offline_access", state,
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: "S256",
    dpop_jkt: await DPoP.calculateThumbprint(),
  });
  const server = http.createServer(async (req, res) => {
    if (!req.url.startsWith("/cb?")) {  // the browser's favicon request, say
      res.statusCode = 404;
      res.end();
      return;
    }
    server.close();
    try {
      const tokens = await client.authorizationCodeGrant(config, new URL(req.url, redirectUri),
        { pkceCodeVerifier: verifier, expectedState: state }, undefined, { DPoP });
      res.end("signed in");
      const claims = tokens.claims();
      const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub, { DPoP });
      const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token, undefined, { DPoP });
      const again = await client.fetchUserInfo(config, refreshed.access_token, claims.sub, { DPoP });
      say({ step: "tokens", token_type: tokens.token_type, refreshed_token_type: refreshed.token_type,
            access_token: tokens.access_token, refreshed_access_token: refreshed.access_token,
            thumbprint: await DPoP.calculateThumbprint(), userinfo, userinfo_after_refresh: again,
            rotated: refreshed.refresh_token !== tokens.refresh_token });
    } catch (error) {
      if (!res.writableEnded) {
        res.statusCode = 400;
        res.end(String(error));
      }
      say({ step: "error", name: error.name, code: error.code, error: error.error, message: error.message,
            cause: String(error.cause?.message ?? error.cause ?? "") });
    }
  });
  server.listen(port, "127.0.0.1", () => say({ step: "url", url: url.href }));
} catch (error) {
  say({ step: "error", name: error.name, code: error.code, error: error.error, message: error.message });
  process.exitCode = 1;
}
