import { createJob, expect, hydrated, login, test } from './helpers';

test('anonymous visitors are sent to the login form', async ({ page }) => {
  await page.goto('/admin/regeneration-jobs');
  await expect(page).toHaveURL(/\/login\?next=/);
  await expect(page.getByRole('heading', { name: 'Log in' })).toBeVisible();
});

test('the list page shows jobs and ships no WASM', async ({ page }) => {
  const wasm: string[] = [];
  page.on('request', (request) => {
    if (request.url().endsWith('.wasm')) wasm.push(request.url());
  });
  await login(page);
  await expect(page.getByRole('heading', { name: 'Regeneration jobs' })).toBeVisible();
  await expect(page.locator('table.jobs tbody tr')).toHaveCount(50);
  await expect(page.locator('.env-banner')).toHaveText('e2e');
  await expect(page.getByRole('link', { name: 'Older →' })).toBeVisible();
  expect(wasm).toEqual([]);
});

test('an admin finds a pending job by filter, inspects it and triggers it', async ({ page }) => {
  const targetId = `find-me-${Date.now()}`;
  const id = createJob({ targetId });
  await login(page);
  await page.getByLabel('Target id').fill(targetId);
  await page.locator('label.check', { hasText: 'PENDING' }).locator('input').check();
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await expect(page).toHaveURL(new RegExp(`status=PENDING.*targetId=${targetId}`));
  await expect(page.locator('table.jobs tbody tr')).toHaveCount(1);
  await page.locator(`a[href="/admin/regeneration-jobs/${id}"]`).click();

  await hydrated(page, 'section.trigger');
  await page.getByText('Trigger job…').click();
  const dialog = page.getByRole('dialog');
  await expect(dialog).toBeVisible();
  await expect(dialog).toContainText(id);
  await expect(dialog).toContainText(targetId);
  await dialog.getByRole('button', { name: 'Trigger job' }).click();

  await expect(page.locator('p.notice.success')).toContainText('now RUNNING');
  await expect(page.locator('h1 .badge')).toHaveText('RUNNING');
  await expect(page.locator('.timeline .event-type').last()).toHaveText('REGEN_JOB_TRIGGERED');
  await expect(page.getByText('Trigger job…')).toHaveCount(0);
});

test('a double click on the confirm button sends one trigger request', async ({ page }) => {
  const id = createJob();
  await login(page, `/admin/regeneration-jobs/${id}`);
  await hydrated(page, 'section.trigger');
  const posts: string[] = [];
  page.on('request', (request) => {
    if (request.method() === 'POST' && request.url().includes('trigger')) posts.push(request.url());
  });
  await page.getByText('Trigger job…').click();
  await page.getByRole('dialog').getByRole('button', { name: 'Trigger job' }).dblclick();
  await expect(page.locator('p.notice.success')).toBeVisible();
  expect(posts).toHaveLength(1);
});

test('a second tab that triggers the same job sees who was faster', async ({ page, context }) => {
  const id = createJob();
  await login(page, `/admin/regeneration-jobs/${id}`);
  const other = await context.newPage();
  await other.goto(`/admin/regeneration-jobs/${id}`);
  await hydrated(page, 'section.trigger');
  await hydrated(other, 'section.trigger');

  await other.getByText('Trigger job…').click();
  await other.getByRole('dialog').getByRole('button', { name: 'Trigger job' }).click();
  await expect(other.locator('p.notice.success')).toBeVisible();

  await page.getByText('Trigger job…').click();
  await page.getByRole('dialog').getByRole('button', { name: 'Trigger job' }).click();
  await expect(page.locator('p.notice.warning')).toContainText('no longer PENDING');
  await expect(page.locator('h1 .badge')).toHaveText('RUNNING');
  await other.close();
});

test('the trigger dialog works with the keyboard alone', async ({ page }) => {
  const id = createJob();
  await login(page, `/admin/regeneration-jobs/${id}`);
  await hydrated(page, 'section.trigger');
  const summary = page.locator('summary', { hasText: 'Trigger job…' });
  await summary.focus();
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog');
  await expect(dialog).toBeVisible();
  await expect(dialog.getByRole('button', { name: 'Cancel' })).toBeFocused();
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
  await summary.focus();
  await page.keyboard.press('Enter');
  await page.keyboard.press('Tab');
  await expect(dialog.getByRole('button', { name: 'Trigger job' })).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page.locator('p.notice.success')).toBeVisible();
});

test.describe('error pages', () => {
  test.use({ allowedConsoleErrors: [/status of 404/] });

  test('the unknown job page is a 404', async ({ page }) => {
  await login(page);
  const response = await page.goto('/admin/regeneration-jobs/01934b6e-0000-7000-8000-000000000000');
  expect(response?.status()).toBe(404);
  await expect(page.getByRole('heading', { name: 'Not found' })).toBeVisible();
  });
});

/** The page background of each theme (style/main.css), as the browser computes it. */
const background = { light: 'rgb(255, 255, 255)', dark: 'rgb(20, 22, 26)' };

for (const scheme of ['light', 'dark'] as const) {
  test(`both pages are drawn in the ${scheme} theme, and captured`, async ({ page }, testInfo) => {
    await page.emulateMedia({ colorScheme: scheme });
    const id = createJob({ status: 'FAILED', error: '{"code":"GENERATOR_TIMEOUT","cause":{"retryable":true}}' });
    await login(page);
    await expect(page.locator('body')).toHaveCSS('background-color', background[scheme]);
    await expect(page.locator(`table.jobs a[href="/admin/regeneration-jobs/${id}"]`)).toBeVisible();
    await page.screenshot({ path: testInfo.outputPath(`list-${scheme}.png`), fullPage: true });
    await page.goto(`/admin/regeneration-jobs/${id}`);
    await hydrated(page, '.jt-viewer');
    await expect(page.locator('body')).toHaveCSS('background-color', background[scheme]);
    await expect(page.locator('.json-section').last().locator('[data-path="/code"]')).toContainText('GENERATOR_TIMEOUT');
    await page.screenshot({ path: testInfo.outputPath(`detail-${scheme}.png`), fullPage: true });
  });
}
