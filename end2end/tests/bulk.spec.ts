import { Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { createJob, expect, hydrated, login, test } from './helpers';

/** PENDING jobs of a target type of their own, so that "all matching" is exactly them. */
function pendingJobs(label: string, count: number): { targetType: string; ids: string[] } {
  const targetType = `${label}-${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  const ids = Array.from({ length: count }, () => createJob({ targetType }));
  return { targetType, ids };
}

function pendingList(targetType: string): string {
  return `/admin/regeneration-jobs?status=PENDING&targetType=${encodeURIComponent(targetType)}`;
}

async function expectNoAxeViolations(page: Page) {
  const results = await new AxeBuilder({ page }).analyze();
  expect(results.violations, JSON.stringify(results.violations, null, 2)).toEqual([]);
}

async function expectStatus(page: Page, id: string, status: string) {
  await page.goto(`/admin/regeneration-jobs/${id}`);
  await expect(page.locator('h1 .badge')).toHaveText(status);
}

test.describe('the bulk trigger without JavaScript', () => {
  // A count that changed (409) and an empty selection (400) answer pages on purpose.
  test.use({ javaScriptEnabled: false, allowedConsoleErrors: [/status of 40[09]/] });

  test('selected jobs go through a confirmation page to a result page', async ({ page }) => {
    const { targetType, ids } = pendingJobs('bulk-nojs', 3);
    await login(page, pendingList(targetType));

    await page.getByRole('checkbox', { name: `Select job ${ids[0]}` }).check();
    await page.getByRole('checkbox', { name: `Select job ${ids[2]}` }).check();
    await page.getByRole('button', { name: /^Trigger selected/ }).click();

    await expect(page).toHaveURL(/\/admin\/regeneration-jobs\/bulk-trigger\/confirm$/);
    await expect(page.getByRole('heading', { name: 'Trigger 2 jobs?' })).toBeVisible();
    await expect(page.getByText('the 2 selected PENDING jobs')).toBeVisible();
    await page.getByRole('button', { name: 'Trigger 2 jobs' }).click();

    await expect(page.getByRole('status')).toHaveText('Triggered 2 of 2 jobs.');
    await expect(page.getByRole('heading', { name: 'Triggered (2)' })).toBeVisible();
    await expect(page.getByRole('heading', { name: 'Already running or finished (0)' })).toBeVisible();
    await expect(page.getByRole('heading', { name: 'Not found (0)' })).toBeVisible();
    await expectStatus(page, ids[0], 'RUNNING');
    await expectStatus(page, ids[1], 'PENDING');
  });

  test('"Trigger all N matching" names the count and the filter, and reports jobs that were triggered meanwhile', async ({ page, request }) => {
    const { targetType, ids } = pendingJobs('bulk-nojs-all', 2);
    await login(page, pendingList(targetType));

    await page.getByRole('button', { name: 'Trigger all 2 matching' }).click();
    await expect(page.getByRole('heading', { name: 'Trigger 2 jobs?' })).toBeVisible();
    await expect(page.getByText(`all 2 PENDING jobs with target type “${targetType}”`)).toBeVisible();
    await page.getByRole('link', { name: 'Cancel' }).click();
    await expect(page).toHaveURL(new RegExp(`status=PENDING&targetType=${targetType}$`));

    // A third job arrives between the confirmation and the click.
    await page.getByRole('button', { name: 'Trigger all 2 matching' }).click();
    const third = createJob({ targetType });
    await page.getByRole('button', { name: 'Trigger 2 jobs' }).click();

    await expect(page.getByRole('alert')).toContainText('changed from 2 to 3');
    await expect(page.getByRole('heading', { name: 'Trigger 3 jobs?' })).toBeVisible();
    await page.getByRole('button', { name: 'Trigger 3 jobs' }).click();
    await expect(page.getByRole('status')).toHaveText('Triggered 3 of 3 jobs.');
    for (const id of [...ids, third]) {
      await expect(page.getByRole('link', { name: id })).toBeVisible();
    }
  });

  test('without a ticked row, "Trigger selected" explains itself and triggers nothing', async ({ page }) => {
    const { targetType, ids } = pendingJobs('bulk-nojs-none', 1);
    await login(page, pendingList(targetType));
    await page.getByRole('button', { name: /^Trigger selected/ }).click();
    await expect(page.getByRole('alert')).toContainText('Select at least one job');
    await expectStatus(page, ids[0], 'PENDING');
  });
});

test.describe('the bulk trigger with JavaScript', () => {
  test('asks in a dialog with the exact number, and its button is disabled while it runs', async ({ page }) => {
    const { targetType, ids } = pendingJobs('bulk-js', 3);
    await login(page, pendingList(targetType));
    await hydrated(page, '.bulk-trigger');

    await page.getByRole('checkbox', { name: `Select job ${ids[0]}` }).check();
    await page.getByRole('checkbox', { name: `Select job ${ids[1]}` }).check();
    const open = page.getByRole('button', { name: 'Trigger selected (2)' });
    await expect(open).toBeVisible();
    await open.click();

    const dialog = page.getByRole('dialog', { name: 'Trigger these jobs?' });
    await expect(dialog).toBeVisible();
    await expect(dialog).toContainText('You are about to trigger the 2 selected PENDING jobs.');
    await expectNoAxeViolations(page);
    // Hold the form's submission (a navigation, during which the page
    // cannot be inspected) until the button has been seen while it runs.
    await page.evaluate(() => {
      const submit = HTMLFormElement.prototype.submit;
      HTMLFormElement.prototype.submit = function (this: HTMLFormElement) {
        (window as unknown as { send: () => void }).send = () => submit.call(this);
      };
    });
    const confirm = dialog.getByRole('button', { name: 'Trigger', exact: true });
    await confirm.click();
    const busy = dialog.getByRole('button', { name: 'Triggering…' });
    await expect(busy).toBeDisabled();
    await expect(busy).toHaveAttribute('aria-busy', 'true');
    await page.evaluate(() => (window as unknown as { send: () => void }).send());

    await expect(page.getByRole('status')).toHaveText('Triggered 2 of 2 jobs.');
    await expect(page).toHaveURL(/\/admin\/regeneration-jobs\/bulk-trigger$/);
    // The result page (the same page the no-JS flow ends on).
    await expectNoAxeViolations(page);
    await expectStatus(page, ids[2], 'PENDING');
  });

  test('"Trigger all N matching" opens the dialog with the filter in words; Cancel changes nothing', async ({ page }) => {
    const { targetType, ids } = pendingJobs('bulk-js-all', 2);
    await login(page, pendingList(targetType));
    await hydrated(page, '.bulk-trigger');

    await page.getByRole('button', { name: 'Trigger all 2 matching' }).click();
    const dialog = page.getByRole('dialog', { name: 'Trigger these jobs?' });
    await expect(dialog).toContainText(`You are about to trigger all 2 PENDING jobs with target type “${targetType}”.`);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await expect(dialog).toBeHidden();
    await expectStatus(page, ids[0], 'PENDING');

    await page.goto(pendingList(targetType));
    await hydrated(page, '.bulk-trigger');
    await page.getByRole('button', { name: 'Trigger all 2 matching' }).click();
    await dialog.getByRole('button', { name: 'Trigger' }).click();
    await expect(page.getByRole('status')).toHaveText('Triggered 2 of 2 jobs.');
  });

  test('works from the keyboard alone', async ({ page }) => {
    const { targetType, ids } = pendingJobs('bulk-js-keys', 1);
    await login(page, pendingList(targetType));
    await hydrated(page, '.bulk-trigger');

    await page.getByRole('checkbox', { name: `Select job ${ids[0]}` }).focus();
    await page.keyboard.press('Space');
    await page.getByRole('button', { name: 'Trigger selected (1)' }).focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Trigger these jobs?' });
    await expect(dialog).toBeVisible();
    // Focus starts on Cancel: Escape or Enter there never triggers.
    await expect(dialog.getByRole('button', { name: 'Cancel' })).toBeFocused();
    await page.keyboard.press('Escape');
    await expect(dialog).toBeHidden();

    await page.getByRole('button', { name: 'Trigger selected (1)' }).focus();
    await page.keyboard.press('Enter');
    await page.keyboard.press('Tab');
    await expect(dialog.getByRole('button', { name: 'Trigger' })).toBeFocused();
    await page.keyboard.press('Enter');
    await expect(page.getByRole('status')).toHaveText('Triggered 1 of 1 job.');
  });
});
