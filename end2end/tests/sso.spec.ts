import AxeBuilder from '@axe-core/playwright';
import { Page } from '@playwright/test';
import { expect, test } from './helpers';
import { BREAK_GLASS, PROVIDER_NAME, RegenAdmin, startServers, TestProvider } from './sso-servers';

// Sign-in with an OpenID Connect provider (issue #35), against the real test
// provider and a regen-admin of these specs' own with password login off.

let provider: TestProvider;
let app: RegenAdmin;

test.beforeAll(async () => {
  test.setTimeout(120_000);
  ({ provider, app } = await startServers());
});

test.afterAll(() => {
  app?.stop();
  provider?.stop();
});

// Back to the provider's initial users, keys and modes, and an empty log of
// end-session requests, whatever a test changed.
test.afterEach(async () => {
  await provider.reset();
});

const ssoButton = (page: Page) => page.getByRole('link', { name: `Sign in with ${PROVIDER_NAME}` });

/** From regen-admin's login page through the provider's form, as a person would. */
async function signInAtProvider(page: Page, user: string) {
  await ssoButton(page).click();
  await expect(page).toHaveURL((url) => url.origin === provider.issuer);
  await page.getByLabel('User name').fill(user);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Signs in from the login page and waits for the signed-in page. */
async function signIn(page: Page, user: string, next = '/admin/regeneration-jobs') {
  await page.goto(app.url(`/login?next=${encodeURIComponent(next)}`));
  await signInAtProvider(page, user);
  await expect(page).toHaveURL(app.url(next));
  await expect(page.locator('.signed-in strong')).toHaveText(user);
}

/** Signs in from the login page and expects the 403 page of a non-admin. */
async function signInRefused(page: Page, user: string) {
  await page.goto(app.url('/login'));
  const callback = page.waitForResponse((response) => response.url().startsWith(app.url('/auth/oidc/callback')));
  await signInAtProvider(page, user);
  expect((await callback).status()).toBe(403);
  await expect(page.getByText('your account is not in an admin group')).toBeVisible();
}

async function expectSignedOut(page: Page) {
  await page.goto(app.url('/admin/regeneration-jobs'));
  await expect(page).toHaveURL((url) => url.origin === app.origin && url.pathname === '/login');
}

test('an admin signs in with the provider and lands on next', async ({ page }) => {
  const deepLink = '/admin/regeneration-jobs?status=PENDING';
  await page.goto(app.url(deepLink));
  await expect(page).toHaveURL((url) => url.pathname === '/login');
  await expect(ssoButton(page)).toBeVisible();

  await signInAtProvider(page, 'alice');

  await expect(page).toHaveURL(app.url(deepLink));
  await expect(page.locator('.signed-in strong')).toHaveText('alice');
});

test.describe('refused sign-ins', () => {
  // The browser reports the 403 page's status in the console.
  test.use({ allowedConsoleErrors: [/status of 403/] });

  test('a non-member is refused with a 403 page and gets no session', async ({ page }) => {
    await signInRefused(page, 'bob');

    const cookies = await page.context().cookies(app.origin);
    expect(cookies.map((cookie) => cookie.name)).not.toContain('regen_session');
    await expectSignedOut(page);
  });

  test('removing the group demotes the user at their next login', async ({ page }) => {
    await signIn(page, 'alice');
    await provider.setGroups('alice', ['staff']);
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect(page).toHaveURL((url) => url.origin === app.origin && url.pathname === '/login');

    await signInRefused(page, 'alice');

    await expectSignedOut(page);
  });

  test('the login that demotes a user ends their other sessions', async ({ page, browser }) => {
    await signIn(page, 'alice');
    await provider.setGroups('alice', ['staff']);
    const elsewhere = await browser.newContext();
    try {
      await signInRefused(await elsewhere.newPage(), 'alice');
    } finally {
      await elsewhere.close();
    }

    await expectSignedOut(page);
  });
});

test('logout reaches the provider\'s end-session endpoint', async ({ page }) => {
  await signIn(page, 'alice');

  await page.getByRole('button', { name: 'Log out' }).click();

  // oidc-provider asks before it ends a session it holds (RP-Initiated
  // Logout leaves that to the provider), then sends the browser back.
  await expect(page).toHaveURL((url) => url.origin === provider.issuer && url.pathname === '/session/end');
  await expect(page.getByRole('heading', { name: `Sign out of ${PROVIDER_NAME}?` })).toBeVisible();
  expect(await provider.endSessions()).toEqual([
    { id_token_hint: true, post_logout_redirect_uri: app.url('/login') },
  ]);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL((url) => url.origin === app.origin && url.pathname === '/login');
  await expectSignedOut(page);

  // The provider's session ended too: signing in again asks for a name.
  await page.goto(app.url('/login'));
  await ssoButton(page).click();
  await expect(page.getByLabel('User name')).toBeVisible();
});

test('with password login off the form is hidden, and /login?local shows it to a break-glass admin', async ({ page }) => {
  await page.goto(app.url('/login'));
  await expect(ssoButton(page)).toBeVisible();
  await expect(page.getByLabel('Password')).toHaveCount(0);

  await page.goto(app.url('/login?local'));
  await page.getByLabel('User name').fill(BREAK_GLASS.name);
  await page.getByLabel('Password').fill(BREAK_GLASS.password);
  await page.getByRole('button', { name: 'Log in' }).click();

  await expect(page).toHaveURL((url) => url.origin === app.origin && url.pathname.startsWith('/admin/'));
  await expect(page.locator('.signed-in strong')).toHaveText(BREAK_GLASS.name);
});

for (const scheme of ['light', 'dark'] as const) {
  test(`axe-core finds nothing on the login page with the SSO button in the ${scheme} theme`, async ({ page }) => {
    await page.emulateMedia({ colorScheme: scheme });
    await page.goto(app.url('/login'));
    await expect(ssoButton(page)).toBeVisible();

    const results = await new AxeBuilder({ page }).analyze();

    expect(results.violations.map((violation) => `${violation.id}: ${violation.help}`)).toEqual([]);
  });
}
