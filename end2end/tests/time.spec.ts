import { choosePreferences, createJob, expect, loginAsNewAdmin, pageScriptReady, test } from './helpers';

const LIST = '/admin/regeneration-jobs';

/** `at` as the page writes it in a zone `offsetMinutes` east of UTC: `YYYY-MM-DD HH:MM:SS`. */
function wallClock(at: string, offsetMinutes: number): string {
  const shifted = new Date(new Date(at).getTime() + offsetMinutes * 60_000).toISOString();
  return `${shifted.slice(0, 10)} ${shifted.slice(11, 19)}`;
}

test.describe('in a browser five and a half hours east of UTC', () => {
  test.use({ timezoneId: 'Asia/Kolkata' });

  test('UTC is the default, and says so', async ({ page }) => {
    const id = createJob();
    await loginAsNewAdmin(page, 'utc', `${LIST}/${id}`);
    await pageScriptReady(page);
    const created = page.locator('dl.meta time');
    const at = (await created.getAttribute('datetime'))!;
    expect(at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    await expect(created).toHaveText(`${wallClock(at, 0)} UTC`);
    await expect(created).toHaveAttribute('title', `${wallClock(at, 0)} UTC`);
  });

  test('local time is the browser zone, with UTC kept in the title', async ({ page }) => {
    const id = createJob();
    await loginAsNewAdmin(page, 'local');
    await choosePreferences(page, { time: 'Local' });
    await expect(page.getByRole('radio', { name: /^Local/ })).toBeChecked();

    await page.goto(`${LIST}/${id}`);
    await pageScriptReady(page);
    const created = page.locator('dl.meta time');
    const at = (await created.getAttribute('datetime'))!;
    await expect(created).toHaveText(new RegExp(`^${wallClock(at, 330)} GMT\\+5:30$`));
    await expect(created).toHaveAttribute('title', `${wallClock(at, 0)} UTC`);

    await page.goto(`${LIST}?targetType=insight`);
    await pageScriptReady(page);
    await expect(page.locator('table.jobs thead [data-time-zone]')).toHaveText('(local time)');
    const first = page.locator('table.jobs tbody time').first();
    await expect(first).not.toHaveText(/UTC$/);
    await expect(first).toHaveAttribute('title', /UTC$/);
  });

  test('relative time says how long ago, with UTC kept in the title', async ({ page }) => {
    const id = createJob();
    await loginAsNewAdmin(page, 'relative');
    await choosePreferences(page, { time: 'Relative' });

    await page.goto(`${LIST}/${id}`);
    await pageScriptReady(page);
    const created = page.locator('dl.meta time');
    await expect(created).toHaveText(/^(\d+ s|[1-5] min) ago$/);
    await expect(created).toHaveAttribute('title', /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
    await expect(page.locator('dl.meta .age')).toBeHidden();

    // The account page's times are relative too.
    await page.goto('/admin/account');
    await pageScriptReady(page);
    await expect(page.locator('table.sessions time').first()).toHaveText(/ ago$/);
  });
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false, timezoneId: 'Asia/Kolkata' });

  test('a local-time admin reads every time in UTC, and no shortcut link is offered', async ({ page }) => {
    const id = createJob();
    await loginAsNewAdmin(page, 'nojs-local');
    await choosePreferences(page, { time: 'Local' });
    await page.goto(`${LIST}/${id}`);
    const created = page.locator('dl.meta time');
    const at = (await created.getAttribute('datetime'))!;
    await expect(created).toHaveText(`${wallClock(at, 0)} UTC`);
    await expect(created).toHaveAttribute('title', `${wallClock(at, 0)} UTC`);
    await expect(page.locator('body')).toHaveAttribute('data-time-display', 'local');

    await page.goto(LIST);
    await expect(page.locator('table.jobs thead [data-time-zone]')).toHaveText('(UTC)');
    for (const time of await page.locator('table.jobs tbody time').all()) {
      await expect(time).toHaveText(/ UTC$/);
      expect(await time.getAttribute('datetime')).toMatch(/Z$/);
    }
    await expect(page.locator('a.shortcuts-link')).toBeHidden();
    await expect(page.getByRole('dialog')).toBeHidden();
  });
});
