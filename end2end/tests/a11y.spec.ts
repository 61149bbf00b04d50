import AxeBuilder from '@axe-core/playwright';
import { Page } from '@playwright/test';
import { createJob, expect, hydrated, login, pageScriptReady, test } from './helpers';

/** axe-core's findings on the page as it is now, one line each (all its default rules). */
async function violations(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).analyze();
  return results.violations.map(
    (violation) =>
      `${violation.id} (${violation.impact}): ${violation.help} at ${violation.nodes
        .map((node) => node.target.join(' '))
        .join(', ')}`,
  );
}

for (const scheme of ['light', 'dark'] as const) {
  test.describe(`axe-core finds nothing in the ${scheme} theme`, () => {
    test.beforeEach(async ({ page }) => {
      await page.emulateMedia({ colorScheme: scheme });
    });

    test('on the login page', async ({ page }) => {
      await page.goto('/login');
      expect(await violations(page)).toEqual([]);
    });

    test('on the list page, with its chart', async ({ page }) => {
      createJob({ status: 'FAILED' });
      await login(page);
      await expect(page.locator('figure.chart svg a.bucket')).toHaveCount(24);
      await pageScriptReady(page);
      expect(await violations(page)).toEqual([]);
      await page.getByText('The numbers').click();
      expect(await violations(page)).toEqual([]);
    });

    test('on a filtered list page', async ({ page }) => {
      createJob();
      await login(page, '/admin/regeneration-jobs?status=PENDING&targetType=insight&chart=7d');
      await expect(page.locator('.chips .chip')).toHaveCount(2);
      await pageScriptReady(page);
      expect(await violations(page)).toEqual([]);
    });

    test('on a detail page, its islands hydrated', async ({ page }) => {
      const targetId = `a11y-${Date.now()}`;
      createJob({ targetId });
      const id = createJob({ targetId, error: '{"code":"E"}', status: 'FAILED' });
      createJob({ targetId });
      await login(page, `/admin/regeneration-jobs/${id}`);
      await hydrated(page, '.jt-viewer');
      await expect(page.locator('.target-jobs-panel tbody tr')).toHaveCount(2);
      expect(await violations(page)).toEqual([]);
    });

    test('on a pending job with its trigger dialog open', async ({ page }) => {
      const id = createJob();
      await login(page, `/admin/regeneration-jobs/${id}`);
      await hydrated(page, 'section.trigger');
      expect(await violations(page)).toEqual([]);
      await page.getByText('Trigger job…').click();
      await expect(page.getByRole('dialog')).toBeVisible();
      expect(await violations(page)).toEqual([]);
    });

    test('on the audit log', async ({ page }) => {
      createJob();
      await login(page, '/admin/audit');
      await expect(page.locator('table.audit-log tbody tr').first()).toBeVisible();
      await pageScriptReady(page);
      expect(await violations(page)).toEqual([]);
    });

    test('on the account page', async ({ page }) => {
      await login(page, '/admin/account');
      await expect(page.locator('form.preferences')).toBeVisible();
      expect(await violations(page)).toEqual([]);
    });

    test('with the keyboard shortcuts dialog open', async ({ page }) => {
      await login(page);
      await pageScriptReady(page);
      await page.keyboard.press('?');
      await expect(page.getByRole('dialog', { name: 'Keyboard shortcuts' })).toBeVisible();
      expect(await violations(page)).toEqual([]);
    });
  });
}
