// The test OpenID provider: a real oidc-provider with the one client, the
// four users and the /__test/ control API that regen-admin's SSO tests and
// `.ci/demo-sso` code against (the contract is in the SSO brief of issue #35).
//
//   node end2end/oidc/provider.mjs [--port N]     (N = 0 or absent: a free port)
//
// Prints exactly one line to stdout once listening, `READY <issuer>`, and runs
// until killed. Everything is in memory; nothing is written to disk.
import { createServer } from 'node:http';

import * as jose from 'jose';
import Provider from 'oidc-provider';

// stdout carries only the READY line that callers parse; oidc-provider prints
// its notices with console.info, so they go to stderr with everything else.
console.info = console.error;
console.log = console.error;

const CLIENT_ID = 'regen-admin';
const CLIENT_SECRET = 'regen-admin-secret';
const PROVIDER_NAME = 'Test IdP';

const INITIAL_USERS = {
  alice: {
    sub: 'sub-alice-0001',
    preferred_username: 'alice',
    email: 'alice@example.test',
    groups: ['regen-admins', 'staff'],
    realm_access: { roles: ['regen-admins'] },
  },
  bob: {
    sub: 'sub-bob-0002',
    preferred_username: 'bob',
    email: 'bob@example.test',
    groups: ['staff'],
    realm_access: { roles: [] },
  },
  carol: {
    sub: 'sub-carol-0003',
    email: 'carol@example.test',
    groups: ['regen-admins'],
  },
  admin: {
    sub: 'sub-admin-0004',
    preferred_username: 'admin',
    groups: ['regen-admins'],
  },
};

const TAMPERINGS = new Set([
  'audience', 'nonce', 'expired', 'issued-in-future', 'issuer', 'signature', 'azp',
]);

function parsePort(argv) {
  const at = argv.indexOf('--port');
  if (at === -1) return 0;
  const port = Number(argv[at + 1]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error('usage: node provider.mjs [--port N]');
    process.exit(2);
  }
  return port;
}

async function newSigningKey() {
  const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
  const jwk = await jose.exportJWK(privateKey);
  return { ...jwk, kid: `test-${crypto.randomUUID()}`, alg: 'RS256', use: 'sig' };
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>body{font-family:sans-serif;max-width:24rem;margin:3rem auto;padding:0 1rem}
label,input,button{display:block;font-size:1rem;margin:.5rem 0}.error{color:#a00000}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>`;
}

function loginPage(uid, error) {
  const alert = error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : '';
  return page(`Sign in to ${PROVIDER_NAME}`, `<h1>Sign in to ${PROVIDER_NAME}</h1>
${alert}
<form method="post" action="/interaction/${escapeHtml(uid)}/login">
<label for="login">User name</label>
<input id="login" name="login" type="text" autocomplete="username" autofocus required>
<button type="submit">Sign in</button>
</form>`);
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

function send(res, status, contentType, body) {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(body);
}

function sendJson(res, status, value) {
  send(res, status, 'application/json', JSON.stringify(value));
}

class TestProvider {
  constructor(issuer, initialKey) {
    this.issuer = issuer;
    this.initialKey = initialKey;
    this.reset();
  }

  reset() {
    this.users = structuredClone(INITIAL_USERS);
    this.autoLoginUser = null;
    this.nextTamper = null;
    this.endSessions = [];
    this.useKey(this.initialKey);
  }

  // The JWKS is part of oidc-provider's configuration, so a key rotation builds
  // a new Provider around the new key. Sessions, grants and codes live in
  // oidc-provider's in-process memory adapter, which every instance shares, and
  // the cookie keys are fixed, so flows already under way carry on.
  useKey(key) {
    this.signingKey = key;
    this.provider = this.buildProvider(key);
    this.handleOidc = this.provider.callback();
  }

  findUser(login) {
    return Object.hasOwn(this.users, login) ? this.users[login] : undefined;
  }

  findUserBySub(sub) {
    return Object.values(this.users).find((user) => user.sub === sub);
  }

  buildProvider(key) {
    const testProvider = this;
    const provider = new Provider(this.issuer, {
      clients: [{
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        client_name: 'regen-admin',
        // Tests run regen-admin on random ports. oidc-provider implements
        // RFC 8252 §7.3 for native clients: a registered http loopback
        // redirect URI (127.0.0.1, localhost) matches the same URI on any
        // port, for both redirect_uris and post_logout_redirect_uris. The
        // price is that native clients always get a consent interaction,
        // which the interaction handler below completes without a page.
        application_type: 'native',
        redirect_uris: [
          'http://127.0.0.1/auth/oidc/callback',
          'http://localhost/auth/oidc/callback',
        ],
        post_logout_redirect_uris: ['http://127.0.0.1/login', 'http://localhost/login'],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        // client_secret_post is accepted too: oidc-provider takes either form
        // of the secret for a client registered with client_secret_basic.
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: 'RS256',
      }],
      jwks: { keys: [key] },
      cookies: { keys: ['regen-admin-test-provider-cookie-key'] },
      pkce: { required: () => true },
      // Every claim is released under `openid`, and conformIdTokenClaims off
      // puts them in the ID token too: the relying party must work from the
      // ID token alone, whatever scopes it asks for.
      conformIdTokenClaims: false,
      claims: {
        openid: ['sub', 'preferred_username', 'email', 'groups', 'realm_access'],
        profile: ['preferred_username'],
        email: ['email'],
      },
      // Codes and tokens outlive the provider's login session: auto-login
      // ends sessions early (below), and a relying party's tokens must not
      // die with them.
      expiresWithSession: () => false,
      async findAccount(ctx, sub) {
        const user = testProvider.findUserBySub(sub);
        if (!user) return undefined;
        return {
          accountId: sub,
          async claims() {
            return structuredClone(user);
          },
        };
      },
      interactions: {
        url: (ctx, interaction) => `/interaction/${interaction.uid}`,
      },
      features: {
        devInteractions: { enabled: false },
        rpInitiatedLogout: {
          enabled: true,
          logoutSource: (ctx, form) => {
            ctx.body = page(`Sign out of ${PROVIDER_NAME}`, `<h1>Sign out of ${PROVIDER_NAME}?</h1>
${form}
<button type="submit" form="op.logoutForm" value="yes" name="logout">Sign out</button>
<button type="submit" form="op.logoutForm">Stay signed in</button>`);
          },
          postLogoutSuccessSource: (ctx) => {
            ctx.body = page('Signed out', `<h1>You are signed out of ${PROVIDER_NAME}</h1>`);
          },
        },
      },
      ttl: {
        AccessToken: 3600,
        AuthorizationCode: 60,
        Grant: 86400,
        IdToken: 3600,
        Interaction: 600,
        Session: 86400,
      },
      clientBasedCORS: () => false,
      renderError: (ctx, out) => {
        ctx.type = 'html';
        ctx.body = page('Sign-in error', `<h1>Sign-in error</h1>
<p>${escapeHtml(out.error)}: ${escapeHtml(out.error_description ?? '')}</p>`);
      },
    });

    // Post-processing middlewares, as oidc-provider documents them: after
    // next() the route is known as ctx.oidc.route.
    provider.use(async (ctx, next) => {
      await next();
      if (ctx.oidc?.route === 'end_session') {
        const params = ctx.oidc.params ?? {};
        testProvider.endSessions.push({
          id_token_hint: Boolean(params.id_token_hint),
          post_logout_redirect_uri: params.post_logout_redirect_uri ?? null,
        });
      }
      // While auto-login is on, the provider forgets each session once its
      // code is issued, so the next authorization logs in afresh as the
      // auto-login user. Were the session kept, a client holding the cookie
      // of another user would get oidc-provider's session switch, an
      // auto-submitting HTML form that a redirect-following HTTP client
      // cannot pass.
      if (ctx.oidc?.route === 'resume' && ctx.oidc.entities.AuthorizationCode
          && testProvider.autoLoginUser) {
        await ctx.oidc.session.destroy();
      }
      if (ctx.oidc?.route === 'token' && ctx.status === 200 && ctx.body?.id_token
          && testProvider.nextTamper) {
        const tamper = testProvider.nextTamper;
        testProvider.nextTamper = null;
        ctx.body = { ...ctx.body, id_token: await testProvider.tamper(ctx.body.id_token, tamper) };
      }
    });

    return provider;
  }

  async tamper(idToken, how) {
    const header = jose.decodeProtectedHeader(idToken);
    const claims = jose.decodeJwt(idToken);
    const now = Math.floor(Date.now() / 1000);
    let signingJwk = this.signingKey;
    switch (how) {
      case 'audience':
        claims.aud = 'someone-else';
        break;
      case 'nonce':
        claims.nonce = 'not-the-nonce-that-was-sent';
        break;
      case 'expired':
        claims.iat = now - 900;
        claims.exp = now - 300;
        break;
      case 'issued-in-future':
        claims.iat = now + 600;
        claims.exp = now + 1200;
        break;
      case 'issuer':
        claims.iss = 'http://issuer.invalid';
        break;
      case 'signature':
        // A key the JWKS never served, under the current kid: only a
        // signature check can tell.
        signingJwk = { ...(await newSigningKey()), kid: this.signingKey.kid };
        break;
      case 'azp':
        claims.aud = [CLIENT_ID, 'other'];
        claims.azp = 'other';
        break;
      default:
        throw new Error(`unknown tampering ${how}`);
    }
    const privateKey = await jose.importJWK(signingJwk, 'RS256');
    return new jose.SignJWT(claims)
      .setProtectedHeader({ ...header, kid: signingJwk.kid })
      .sign(privateKey);
  }

  async handle(req, res) {
    const url = new URL(req.url, this.issuer);
    try {
      if (url.pathname === '/favicon.ico') {
        // Browsers ask for it on every page; a 404 would be a console error
        // in the specs that fail on any.
        res.writeHead(204, { 'cache-control': 'max-age=86400' });
        res.end();
      } else if (url.pathname.startsWith('/__test/')) {
        await this.handleTestApi(req, res, url);
      } else if (url.pathname.startsWith('/interaction/')) {
        await this.handleInteraction(req, res, url);
      } else {
        this.handleOidc(req, res);
      }
    } catch (error) {
      console.error(error);
      if (!res.headersSent) sendJson(res, 500, { error: String(error.message ?? error) });
    }
  }

  async handleTestApi(req, res, url) {
    const route = `${req.method} ${url.pathname}`;
    const userRoute = /^POST \/__test\/users\/([^/]+)$/.exec(route);
    let body = {};
    if (req.method === 'POST') {
      const text = await readBody(req);
      if (text.trim() !== '') {
        try {
          body = JSON.parse(text);
        } catch {
          sendJson(res, 400, { error: 'the body is not JSON' });
          return;
        }
      }
    }

    if (route === 'POST /__test/auto-login') {
      if (body.user !== null && !this.findUser(body.user)) {
        sendJson(res, 400, { error: `unknown user ${body.user}` });
        return;
      }
      this.autoLoginUser = body.user;
      sendJson(res, 200, { auto_login: this.autoLoginUser });
    } else if (userRoute) {
      const user = this.findUser(decodeURIComponent(userRoute[1]));
      if (!user) {
        sendJson(res, 404, { error: 'unknown user' });
        return;
      }
      if (!Array.isArray(body.groups) || !body.groups.every((g) => typeof g === 'string')) {
        sendJson(res, 400, { error: 'groups must be an array of strings' });
        return;
      }
      user.groups = [...body.groups];
      user.realm_access = { roles: [...body.groups] };
      sendJson(res, 200, user);
    } else if (route === 'POST /__test/rotate-keys') {
      this.useKey(await newSigningKey());
      sendJson(res, 200, { kid: this.signingKey.kid });
    } else if (route === 'POST /__test/next-id-token') {
      if (!TAMPERINGS.has(body.tamper)) {
        sendJson(res, 400, { error: `tamper must be one of ${[...TAMPERINGS].join(', ')}` });
        return;
      }
      this.nextTamper = body.tamper;
      sendJson(res, 200, { tamper: this.nextTamper });
    } else if (route === 'GET /__test/end-sessions') {
      sendJson(res, 200, this.endSessions);
    } else if (route === 'POST /__test/reset') {
      this.reset();
      sendJson(res, 200, { kid: this.signingKey.kid });
    } else {
      sendJson(res, 404, { error: 'no such test endpoint' });
    }
  }

  async handleInteraction(req, res, url) {
    const { provider } = this;
    const details = await provider.interactionDetails(req, res);
    const { uid, prompt, params, session } = details;

    if (req.method === 'POST' && url.pathname === `/interaction/${uid}/login`) {
      const login = new URLSearchParams(await readBody(req)).get('login')?.trim() ?? '';
      const user = this.findUser(login);
      if (!user) {
        send(res, 200, 'text/html; charset=utf-8', loginPage(uid, `There is no user named “${login}”.`));
        return;
      }
      await provider.interactionFinished(req, res, { login: { accountId: user.sub } }, {
        mergeWithLastSubmission: false,
      });
      return;
    }

    if (req.method !== 'GET' || url.pathname !== `/interaction/${uid}`) {
      send(res, 404, 'text/plain; charset=utf-8', 'Not found');
      return;
    }

    // Auto-login also replaces a session someone opened with the form before
    // auto-login was turned on (oidc-provider switches with an auto-submitting
    // form, which browsers pass).
    const autoUser = this.autoLoginUser ? this.findUser(this.autoLoginUser) : undefined;
    if (autoUser && (prompt.name === 'login' || session?.accountId !== autoUser.sub)) {
      await provider.interactionFinished(req, res, { login: { accountId: autoUser.sub } }, {
        mergeWithLastSubmission: false,
      });
      return;
    }

    if (prompt.name === 'login') {
      send(res, 200, 'text/html; charset=utf-8', loginPage(uid));
      return;
    }

    // Consent is never asked: whatever the client asked for is granted.
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    if (prompt.details.missingOIDCScope) {
      grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
    }
    if (prompt.details.missingOIDCClaims) {
      grant.addOIDCClaims(prompt.details.missingOIDCClaims);
    }
    for (const [indicator, scopes] of Object.entries(prompt.details.missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, {
      mergeWithLastSubmission: true,
    });
  }
}

const port = parsePort(process.argv.slice(2));
const server = createServer();
server.listen(port, '127.0.0.1', async () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const testProvider = new TestProvider(issuer, await newSigningKey());
  server.on('request', (req, res) => testProvider.handle(req, res));
  process.stdout.write(`READY ${issuer}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => process.exit(0));
}
