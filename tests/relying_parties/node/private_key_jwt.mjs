// A web app of idp built on openid-client 6 that holds a key pair instead of a secret: it
// authenticates at the token endpoint with private_key_jwt (RFC 7523) and, with REQUEST_OBJECT=1,
// sends its authorization request as a request object signed with the same key (RFC 9101).
// ISSUER, CLIENT_ID, PRIVATE_JWK (the private key as a JWK, with its kid) and CALLBACK_PORT come
// from the environment; the provider is on loopback (plain http). Prints the URL to open in the
// browser, then the result once the browser comes back to the callback.
import http from "node:http";
import * as client from "openid-client";

const say = (line) => process.stdout.write(JSON.stringify(line) + "\n");
const port = Number(process.env.CALLBACK_PORT);
const redirectUri = `http://127.0.0.1:${port}/cb`;

try {
  const jwk = JSON.parse(process.env.PRIVATE_JWK);
  const privateKey = {
    kid: jwk.kid,
    key: await crypto.subtle.importKey("jwk", jwk, { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]),
  };
  const config = await client.discovery(new URL(process.env.ISSUER), process.env.CLIENT_ID, undefined,
    client.PrivateKeyJwt(privateKey), { execute: [client.allowInsecureRequests] });
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const parameters = {
    redirect_uri: redirectUri, scope: "openid email offline_access", state,
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: "S256",
  };
  const url = process.env.REQUEST_OBJECT === "1"
    ? await client.buildAuthorizationUrlWithJAR(config, parameters, privateKey)
    : client.buildAuthorizationUrl(config, parameters);
  const server = http.createServer(async (req, res) => {
    try {
      const tokens = await client.authorizationCodeGrant(config, new URL(req.url, redirectUri),
        { pkceCodeVerifier: verifier, expectedState: state });
      const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
      res.end("signed in");
      say({ step: "tokens", claims: tokens.claims(), scope: tokens.scope,
            refreshed: Boolean(refreshed.access_token) });
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
