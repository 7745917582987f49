// The reference peer for bench/run.py: node-oidc-provider configured like idp's realm under test.
//   node server.mjs PORT
// - client_credentials issues signed JWT access tokens (ES256), through the resource-indicators
//   feature with accessTokenFormat 'jwt', as idp's client_credentials tokens are;
// - refresh tokens always rotate (rotateRefreshToken: true), with its reuse detection;
// - a minimal login interaction (no page, no password hash) that bench/run.py uses only to
//   obtain codes, refresh tokens and userinfo tokens before the timed runs;
// - the default in-memory adapter, one Node process (how the peer is usually benchmarked).
import crypto from 'node:crypto';
import http from 'node:http';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const Provider = (await import(require.resolve('oidc-provider', { paths: [process.env.PEER_MODULES || process.cwd()] }))).default;

const port = Number(process.argv[2] || 3000);
const issuer = `http://127.0.0.1:${port}`;
const API = 'urn:idp-bench:api';

function privateJwk(type, options, alg) {
  const { privateKey } = crypto.generateKeyPairSync(type, options);
  return { ...privateKey.export({ format: 'jwk' }), alg, use: 'sig', kid: crypto.randomUUID() };
}

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'bench',
    client_secret: 'bench-secret',
    grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
    response_types: ['code'],
    redirect_uris: ['http://127.0.0.1:9999/callback'],
    scope: 'openid email profile offline_access api',
    id_token_signed_response_alg: 'ES256',
  }],
  jwks: {
    keys: [
      privateJwk('ec', { namedCurve: 'P-256' }, 'ES256'),
      privateJwk('rsa', { modulusLength: 2048 }, 'RS256'),
    ],
  },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  scopes: ['openid', 'email', 'profile', 'offline_access', 'api'],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  findAccount: async (ctx, id) => ({
    accountId: id,
    claims: async () => ({ sub: id, email: `${id}@example.com`, email_verified: true, name: id }),
  }),
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: (ctx, client, oneOf) => (ctx.oidc.params?.grant_type === 'client_credentials' ? API : oneOf),
      useGrantedResource: () => false,
      getResourceServerInfo: () => ({
        scope: 'api',
        audience: API,
        accessTokenTTL: 600,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'ES256' } },
      }),
    },
  },
  rotateRefreshToken: true,
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  ttl: { AccessToken: 600, ClientCredentials: 600, IdToken: 3600, RefreshToken: 2592000, Interaction: 600, Session: 1209600, Grant: 1209600, AuthorizationCode: 60 },
});
provider.proxy = false;

const handler = provider.callback();

async function interaction(req, res) {
  // POST /interaction/<uid> with login=<account>: log in and grant what the client asked for.
  const details = await provider.interactionDetails(req, res);
  const accountId = new URLSearchParams(await body(req)).get('login') || 'alice';
  const grant = new provider.Grant({ accountId, clientId: details.params.client_id });
  grant.addOIDCScope(details.params.scope);
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { login: { accountId }, consent: { grantId } }, { mergeWithLastSubmission: false });
}

function body(req) {
  return new Promise((resolve) => {
    let data = '';
    req.on('data', (chunk) => { data += chunk; });
    req.on('end', () => resolve(data));
  });
}

http.createServer((req, res) => {
  if (req.url.startsWith('/interaction/')) {
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('login here with POST login=<account>');
      return;
    }
    interaction(req, res).catch((error) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(error));
    });
    return;
  }
  handler(req, res);
}).listen(port, '127.0.0.1', () => {
  console.log(`peer listening on ${issuer}`);
});
