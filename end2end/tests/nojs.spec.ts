import { Page } from '@playwright/test';
import { ADMIN_PASSWORD, createJob, expect, test } from './helpers';

test.use({ javaScriptEnabled: false });

async function openWithoutJavaScript(page: Page, id: string) {
  await page.goto(`/login?next=/admin/regeneration-jobs/${id}`);
  await page.getByLabel('User name').fill('admin');
  await page.getByLabel('Password').fill(ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page).toHaveURL(new RegExp(`/admin/regeneration-jobs/${id}$`));
}

test('without JavaScript the trigger is a form that lands back on the detail page', async ({ page }) => {
  const id = createJob();
  await openWithoutJavaScript(page, id);

  await page.getByText('Trigger job…').click();
  await page.getByRole('button', { name: 'Confirm trigger' }).click();

  await expect(page).toHaveURL(new RegExp(`/admin/regeneration-jobs/${id}\\?outcome=triggered$`));
  await expect(page.locator('h1 .badge')).toHaveText('RUNNING');
  await expect(page.locator('.timeline .event-type').last()).toHaveText('REGEN_JOB_TRIGGERED');
});

test('without JavaScript the JSON tree is readable and collapsible', async ({ page }) => {
  const id = createJob();
  await openWithoutJavaScript(page, id);
  const prompt = page.locator('.jt-str', { hasText: 'rewrite for e2e' });
  await expect(prompt).toBeVisible();
  await page.locator('summary.jt-row').first().click();
  await expect(prompt).toBeHidden();
});

test('without JavaScript a large document still downloads', async ({ page }) => {
  const chunk = 'y'.repeat(1000);
  const id = createJob({ instruction: `[${Array.from({ length: 2_200 }, (_, i) => `"${i}-${chunk}"`).join(',')}]` });
  await openWithoutJavaScript(page, id);
  await expect(page.locator('.notice')).toContainText('tree view is off');
  const download = page.waitForEvent('download');
  await page.getByRole('link', { name: 'Download' }).click();
  const file = await download;
  expect(file.suggestedFilename()).toBe(`regeneration-job-${id}-instructionJson.json`);
});
