import { Page } from '@playwright/test';
import { choosePreferences, createJob, expect, login, loginAsNewAdmin, pageScriptReady, test } from './helpers';

const LIST = '/admin/regeneration-jobs';

async function open(page: Page, path: string) {
  await page.goto(path);
  await pageScriptReady(page);
}

async function keys(page: Page, ...sequence: string[]) {
  for (const key of sequence) await page.keyboard.press(key);
}

test('/ focuses the filter field, on the list and on the audit log', async ({ page }) => {
  await login(page);
  await pageScriptReady(page);
  await keys(page, '/');
  await expect(page.getByRole('textbox', { name: 'Target type' })).toBeFocused();
  await expect(page.getByRole('textbox', { name: 'Target type' })).toHaveValue('');

  await open(page, '/admin/audit');
  await keys(page, '/');
  await expect(page.getByRole('textbox', { name: 'Actor name' })).toBeFocused();
});

test('g then i opens "go to job id", here or from another page', async ({ page }) => {
  const id = createJob();
  await login(page);
  await pageScriptReady(page);
  await keys(page, 'g', 'i');
  await expect(page.locator('#goto')).toBeFocused();
  await expect(page).toHaveURL(new RegExp(`${LIST}$`));

  await open(page, `${LIST}/${id}`);
  await keys(page, 'g', 'i');
  await expect(page).toHaveURL(new RegExp(`${LIST}#goto$`));
  await expect(page.locator('#goto')).toBeFocused();
  await page.keyboard.type(id);
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(new RegExp(`${LIST}/${id}$`));
});

test('g then l goes to the job list, g then a to the audit log', async ({ page }) => {
  await login(page, '/admin/account');
  await pageScriptReady(page);
  await keys(page, 'g', 'a');
  await expect(page).toHaveURL(/\/admin\/audit$/);
  await pageScriptReady(page);
  await keys(page, 'g', 'l');
  await expect(page).toHaveURL(new RegExp(`${LIST}$`));
});

test('j and k move a visible row highlight and Enter opens the highlighted row', async ({ page }) => {
  await login(page);
  await pageScriptReady(page);
  const rows = page.locator('table.jobs tbody tr');
  await keys(page, 'j');
  await expect(rows.nth(0)).toHaveClass(/row-highlight/);
  await expect(rows.nth(0)).toHaveAttribute('aria-current', 'true');
  await keys(page, 'j', 'j');
  await expect(rows.nth(2)).toHaveClass(/row-highlight/);
  await expect(page.locator('tr.row-highlight')).toHaveCount(1);
  await keys(page, 'k');
  await expect(rows.nth(1)).toHaveClass(/row-highlight/);
  await expect(rows.nth(1)).toHaveCSS('outline-style', 'solid');
  const href = await rows.nth(1).locator('a.job-id').getAttribute('href');
  await keys(page, 'Enter');
  await expect(page).toHaveURL(new RegExp(`${href}$`));
});

test('j and k work on the audit log too', async ({ page }) => {
  createJob();
  await login(page, '/admin/audit');
  await pageScriptReady(page);
  await keys(page, 'j');
  const first = page.locator('table.audit-log tbody tr').first();
  await expect(first).toHaveClass(/row-highlight/);
  const href = await first.locator('a.job-id').getAttribute('href');
  await keys(page, 'Enter');
  await expect(page).toHaveURL(new RegExp(`${href}$`));
});

test('? opens the list of shortcuts, and so does the footer link', async ({ page }) => {
  await login(page);
  await pageScriptReady(page);
  const dialog = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
  await expect(dialog).toBeHidden();
  await keys(page, '?');
  await expect(dialog).toBeVisible();
  for (const what of ['Focus the filter field', 'Go to a job by its id', 'Go to the job list', 'Go to the audit log', 'Open the highlighted row']) {
    await expect(dialog).toContainText(what);
  }
  await keys(page, 'j');
  await expect(page.locator('tr.row-highlight')).toHaveCount(0);
  await keys(page, 'Escape');
  await expect(dialog).toBeHidden();

  await page.getByRole('link', { name: 'Keyboard shortcuts' }).click();
  await expect(dialog).toBeVisible();
  await dialog.getByRole('button', { name: 'Close' }).click();
  await expect(dialog).toBeHidden();
});

test('shortcuts are ignored while typing in a field, and with Ctrl, Alt or Meta held', async ({ page }) => {
  await login(page);
  await pageScriptReady(page);
  const field = page.getByRole('textbox', { name: 'Target id' });
  await field.click();
  await page.keyboard.type('jk/?gl ga gi');
  await expect(field).toHaveValue('jk/?gl ga gi');
  await expect(page).toHaveURL(new RegExp(`${LIST}$`));
  await expect(page.locator('tr.row-highlight')).toHaveCount(0);
  await expect(page.getByRole('dialog', { name: 'Keyboard shortcuts' })).toBeHidden();

  await field.blur();
  for (const modifier of ['Control', 'Alt', 'Meta']) {
    await keys(page, `${modifier}+j`, `${modifier}+g`, 'l');
    await expect(page.locator('tr.row-highlight')).toHaveCount(0);
    await expect(page).toHaveURL(new RegExp(`${LIST}$`));
  }
});

test('no shortcut triggers a job: a pending job stays pending whatever is pressed', async ({ page }) => {
  const id = createJob();
  await login(page, `${LIST}/${id}`);
  await pageScriptReady(page);
  await keys(page, 'j', 'Enter', 'k', 'Enter', 't', 'Enter', ' ', 'Enter');
  await expect(page).toHaveURL(new RegExp(`${LIST}/${id}$`));
  await page.reload();
  await expect(page.locator('h1 .badge')).toHaveText('PENDING');
});

test('an admin who turns shortcuts off gets none, and the account page remembers it', async ({ page }) => {
  await loginAsNewAdmin(page, 'no-shortcuts');
  await choosePreferences(page, { shortcuts: false });
  await expect(page.getByRole('checkbox', { name: /Keyboard shortcuts/ })).not.toBeChecked();

  await open(page, LIST);
  await keys(page, '/');
  await expect(page.getByRole('textbox', { name: 'Target type' })).not.toBeFocused();
  await keys(page, 'j');
  await expect(page.locator('tr.row-highlight')).toHaveCount(0);
  await keys(page, 'g', 'a');
  await expect(page).toHaveURL(new RegExp(`${LIST}$`));
  const dialog = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
  await keys(page, '?');
  await expect(dialog).toBeHidden();

  // The list itself stays one click away, and says how to turn them on.
  await page.getByRole('link', { name: 'Keyboard shortcuts' }).click();
  await expect(dialog).toContainText('Keyboard shortcuts are off for your account');

  await choosePreferences(page, { shortcuts: true });
  await open(page, LIST);
  await keys(page, 'j');
  await expect(page.locator('tr.row-highlight')).toHaveCount(1);
});
