import { createJob, expect, login, test } from './helpers';

test('each count links to the list filtered by its status', async ({ page }) => {
  await login(page);
  const failed = page.locator('.status-counts a', { hasText: 'FAILED' });
  const count = Number((await failed.locator('.count').innerText()).replace(/,/g, ''));
  expect(count).toBeGreaterThan(0);

  await failed.click();

  await expect(page).toHaveURL(/status=FAILED/);
  const badges = page.locator('table.jobs tbody .badge');
  await expect(badges.first()).toHaveText('FAILED');
  expect(new Set(await badges.allInnerTexts())).toEqual(new Set(['FAILED']));
  await expect(page.locator('.chip', { hasText: 'status: FAILED' })).toBeVisible();
});

test('a chip removes its filter and keeps the others', async ({ page }) => {
  await login(page, '/admin/regeneration-jobs?status=PENDING&targetType=insight');
  await expect(page.locator('.chip')).toHaveCount(2);

  await page.getByRole('link', { name: 'Remove status: PENDING' }).click();

  await expect(page).toHaveURL(/targetType=insight/);
  expect(page.url()).not.toContain('status=');
  await expect(page.locator('.chip')).toHaveCount(1);
  await expect(page.getByRole('textbox', { name: 'Target type' })).toHaveValue('insight');
});

test('a preset sets the time window', async ({ page }) => {
  createJob();
  await login(page);

  await page.getByRole('link', { name: 'Last 24 hours' }).click();

  await expect(page).toHaveURL(/createdFrom=/);
  await expect(page.locator('.chip', { hasText: 'created from:' })).toBeVisible();
  const from = new Date(await page.getByRole('textbox', { name: 'Created from' }).inputValue());
  expect(Date.now() - from.getTime()).toBeGreaterThan(23.9 * 3600 * 1000);
  expect(Date.now() - from.getTime()).toBeLessThan(24.1 * 3600 * 1000);
  await expect(page.locator('table.jobs tbody tr').first()).toBeVisible();
  await expect(page.locator('.status-counts')).toHaveCount(0);
});

test('go to job opens a known id and explains an unknown one', async ({ page }) => {
  const id = createJob();
  await login(page);

  await page.getByLabel('Go to job').fill('not-a-job');
  await page.getByRole('button', { name: 'Go', exact: true }).click();
  await expect(page.getByText('No job with id not-a-job.')).toBeVisible();

  await page.getByLabel('Go to job').fill(id);
  await page.getByRole('button', { name: 'Go', exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`/admin/regeneration-jobs/${id}$`));
  await expect(page.locator('h1')).toContainText(id);
});
