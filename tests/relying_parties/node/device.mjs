// A device app of idp built on openid-client 6: the Device Authorization Grant (RFC 8628).
// ISSUER and CLIENT_ID come from the environment; the provider is on loopback (plain http).
// Prints one JSON line when the user code is ready and one with the result, so the driving
// test can approve the device in a browser meanwhile.
import * as client from "openid-client";

const say = (line) => process.stdout.write(JSON.stringify(line) + "\n");

try {
  const config = await client.discovery(new URL(process.env.ISSUER), process.env.CLIENT_ID, undefined,
    client.None(), { execute: [client.allowInsecureRequests] });
  const device = await client.initiateDeviceAuthorization(config, { scope: process.env.SCOPE ?? "openid profile offline_access" });
  say({ step: "code", user_code: device.user_code, verification_uri: device.verification_uri,
        verification_uri_complete: device.verification_uri_complete, interval: device.interval });
  const tokens = await client.pollDeviceAuthorizationGrant(config, device);
  const refreshed = tokens.refresh_token ? await client.refreshTokenGrant(config, tokens.refresh_token) : null;
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, client.skipSubjectCheck);
  say({ step: "tokens", token_type: tokens.token_type, has_refresh_token: Boolean(tokens.refresh_token),
        refreshed: Boolean(refreshed?.access_token), userinfo,
        access_token_claims: JSON.parse(Buffer.from(tokens.access_token.split(".")[1], "base64url")) });
} catch (error) {
  say({ step: "error", name: error.name, code: error.code, error: error.error, message: error.message });
  process.exitCode = 1;
}
