// A test OpenID Connect provider: node oidc-provider on loopback with one static client.
//
//   OIDC_PORT=9000 OIDC_CLIENT_ID=console OIDC_CLIENT_SECRET=s3cret \
//   OIDC_REDIRECT_URI=http://127.0.0.1:5000/agent/sso/callback node tests/oidc/provider.mjs
//
// (or the same four values as arguments, in that order; several redirect URIs are separated
// by commas, and OIDC_REDIRECT_PATTERN, a regular expression, allows more). Run it from the repository root
// so that node_modules/oidc-provider is found. Anyone may sign in on its development login
// form with any password; the login typed is the account id and its e-mail address
// ("EMAIL#anything" is another subject with the same e-mail; see findAccount).
// As in real providers, the ID token carries only `sub`; e-mail and name come from userinfo.
import Provider from "oidc-provider";

const [argPort, argId, argSecret, argRedirect] = process.argv.slice(2);
const port = Number(argPort ?? process.env.OIDC_PORT ?? 9000);
const clientId = argId ?? process.env.OIDC_CLIENT_ID ?? "marketline-console";
const clientSecret = argSecret ?? process.env.OIDC_CLIENT_SECRET ?? "marketline-console-secret";
const redirectUris = (argRedirect ?? process.env.OIDC_REDIRECT_URI
  ?? "http://127.0.0.1:5000/agent/sso/callback").split(",");

// Test servers take a free port each, so a regular expression may allow more redirect URIs.
const redirectPattern = process.env.OIDC_REDIRECT_PATTERN
  ? new RegExp(process.env.OIDC_REDIRECT_PATTERN) : null;

const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: redirectUris,
    grant_types: ["authorization_code"],
    response_types: ["code"],
    token_endpoint_auth_method: "client_secret_basic",
  }],
  claims: {
    openid: ["sub"],
    email: ["email", "email_verified"],
    profile: ["name"],
  },
  features: {
    devInteractions: { enabled: true },
  },
  cookies: { keys: ["marketline-test-provider-cookie-key"] },
  async findAccount(ctx, id) {
    // The login typed is the subject. Its e-mail is the part before any "#", so a test can
    // have the provider answer the same e-mail for another subject ("EMAIL#anything").
    const login = String(id).trim();
    const email = login.split("#")[0];
    const name = email.split("@")[0];
    return {
      accountId: login,
      async claims() {
        return { sub: login, email, email_verified: true, name };
      },
    };
  },
});

if (redirectPattern) {
  const exact = provider.Client.prototype.redirectUriAllowed;
  provider.Client.prototype.redirectUriAllowed = function redirectUriAllowed(value) {
    return exact.call(this, value) || redirectPattern.test(value);
  };
}

const server = provider.listen(port, "127.0.0.1", () => {
  console.log(`oidc-provider listening on ${issuer}`);
});

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
