import { Browser, Page } from '@playwright/test';
import { createAdmin, createToken, expect, test } from './helpers';

const PASSWORD = 'e2e-account-password';

async function signIn(page: Page, user: string, password = PASSWORD) {
  await page.goto('/login?next=/admin/account');
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page).toHaveURL(/\/admin\/account$/);
}

async function secondBrowser(browser: Browser, javaScriptEnabled: boolean, user: string) {
  const context = await browser.newContext({ javaScriptEnabled });
  const page = await context.newPage();
  await signIn(page, user);
  return { context, page };
}

for (const javaScriptEnabled of [true, false]) {
  const mode = javaScriptEnabled ? 'with JavaScript' : 'without JavaScript';

  test.describe(`the account page ${mode}`, () => {
    test.use({ javaScriptEnabled });

    test('is linked from the header and shows who is signed in', async ({ page }) => {
      const user = `acct-${javaScriptEnabled ? 'js' : 'nojs'}-a-${Date.now()}`;
      createAdmin(user, PASSWORD);
      await signIn(page, user);
      await page.goto('/admin/regeneration-jobs');
      await page.getByRole('link', { name: 'Account' }).click();
      await expect(page.getByRole('heading', { name: 'Your account' })).toBeVisible();
      await expect(page.locator('.account-name')).toHaveText(user);
      await expect(page.locator('.account-role')).toHaveText('admin');
      await expect(page.locator('table.sessions tbody tr')).toHaveCount(1);
      await expect(page.getByText('(this session)')).toBeVisible();
    });

    test('signs out every other session', async ({ page, browser }) => {
      const user = `acct-${javaScriptEnabled ? 'js' : 'nojs'}-b-${Date.now()}`;
      createAdmin(user, PASSWORD);
      await signIn(page, user);
      const other = await secondBrowser(browser, javaScriptEnabled, user);
      await page.reload();
      await expect(page.locator('table.sessions tbody tr')).toHaveCount(2);

      await page.getByRole('button', { name: 'Sign out everywhere else (1)' }).click();

      await expect(page.getByText('Every other session is signed out.')).toBeVisible();
      await expect(page.locator('table.sessions tbody tr')).toHaveCount(1);
      await other.page.goto('/admin/regeneration-jobs');
      await expect(other.page).toHaveURL(/\/login/);
      await other.context.close();
    });

    test('revokes a token, which then stops working', async ({ page, request }) => {
      const user = `acct-${javaScriptEnabled ? 'js' : 'nojs'}-c-${Date.now()}`;
      createAdmin(user, PASSWORD);
      const token = createToken(user, 'e2e-script');
      const api = () =>
        request.get('/api/admin/regeneration-jobs?limit=1', { headers: { authorization: `Bearer ${token}` } });
      expect((await api()).status()).toBe(200);
      await signIn(page, user);
      const row = page.locator('table.tokens tbody tr', { hasText: 'e2e-script' });
      await expect(row.locator('.token-state')).toHaveText('active');

      await row.getByRole('button', { name: 'Revoke' }).click();

      await expect(page.getByText('Token revoked')).toBeVisible();
      await expect(row.locator('.token-state')).toHaveText('revoked');
      const refused = await api();
      expect(refused.status()).toBe(401);
      expect(refused.headers()['www-authenticate']).toBe('Bearer error="invalid_token"');
    });

    test('changes the password, keeping this session and ending the others', async ({ page, browser }) => {
      const user = `acct-${javaScriptEnabled ? 'js' : 'nojs'}-d-${Date.now()}`;
      createAdmin(user, PASSWORD);
      await signIn(page, user);
      const other = await secondBrowser(browser, javaScriptEnabled, user);

      await page.getByLabel('Current password').fill('not the password');
      await page.getByLabel('New password', { exact: true }).fill('a new e2e passphrase');
      await page.getByLabel('New password again').fill('a new e2e passphrase');
      await page.getByRole('button', { name: 'Change password' }).click();
      await expect(page.locator('#currentPassword-error')).toHaveText(/not correct/);
      await expect(page.getByLabel('Current password')).toHaveAttribute('aria-invalid', 'true');

      await page.getByLabel('Current password').fill(PASSWORD);
      await page.getByLabel('New password', { exact: true }).fill('a new e2e passphrase');
      await page.getByLabel('New password again').fill('a new e2e passphrase');
      await page.getByRole('button', { name: 'Change password' }).click();

      await expect(page.getByText('Password changed.')).toBeVisible();
      await expect(page.locator('table.sessions tbody tr')).toHaveCount(1);
      await other.page.goto('/admin/regeneration-jobs');
      await expect(other.page).toHaveURL(/\/login/);
      await other.context.close();
      await page.getByRole('button', { name: 'Log out' }).click();
      await signIn(page, user, 'a new e2e passphrase');
    });
  });
}
