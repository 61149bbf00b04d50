import { createJob, expect, login, test } from './helpers';

test('clicking a bar of the activity chart lists the jobs created in its window', async ({ page }) => {
  createJob({ status: 'FAILED' });
  await login(page);
  const chart = page.getByRole('figure', { name: /Jobs created per hour over the last 24 hours/ });
  await expect(chart).toBeVisible();
  const buckets = chart.locator('svg.activity-chart a.bucket');
  await expect(buckets).toHaveCount(24);

  // The current hour holds the job just made.
  const current = buckets.last();
  const start = await current.getAttribute('data-start');
  await current.locator('rect.bucket-hit').click({ force: true });

  await expect(page).toHaveURL(/createdFrom=.*createdTo=/);
  const from = new Date(await page.getByRole('textbox', { name: 'Created from' }).inputValue());
  const to = new Date(await page.getByRole('textbox', { name: 'Created before' }).inputValue());
  expect(from.toISOString()).toBe(new Date(start!).toISOString());
  expect(to.getTime() - from.getTime()).toBe(3600 * 1000);
  const times = await page.locator('table.jobs tbody time').evaluateAll((nodes) =>
    nodes.map((node) => new Date(node.getAttribute('datetime')!).getTime()),
  );
  expect(times.length).toBeGreaterThan(0);
  for (const at of times) {
    expect(at).toBeGreaterThanOrEqual(from.getTime());
    expect(at).toBeLessThan(to.getTime());
  }
});

test('the chart switches to daily buckets and keeps its numbers in a table', async ({ page }) => {
  await login(page);
  await page.locator('.activity .ranges').getByRole('link', { name: '30 days' }).click();
  await expect(page).toHaveURL(/chart=30d/);
  await expect(page.getByRole('figure', { name: /per day over the last 30 days/ })).toBeVisible();
  await expect(page.locator('svg.activity-chart a.bucket')).toHaveCount(30);
  await page.getByText('The numbers').click();
  await expect(page.locator('.chart-numbers tbody tr')).toHaveCount(30);
});

test('keyboard and screen-reader users reach every bucket through the numbers, not the picture', async ({ page }) => {
  createJob({ status: 'FAILED' });
  await login(page);
  const chart = page.getByRole('figure', { name: /Jobs created per hour/ });
  // The picture is hidden from assistive technology and its bars from the tab order.
  await expect(chart.locator('svg.activity-chart')).toHaveAttribute('aria-hidden', 'true');
  await expect(chart.locator('svg a.bucket:not([tabindex="-1"])')).toHaveCount(0);
  await expect(page.getByRole('img')).toHaveCount(0);

  await chart.getByText('The numbers').focus();
  await page.keyboard.press('Enter');
  const links = chart.getByRole('rowheader').getByRole('link');
  await expect(links).toHaveCount(24);
  const last = links.last();
  const start = await chart.locator('svg a.bucket').last().getAttribute('href');
  await expect(last).toHaveAttribute('href', start!);
  await last.focus();
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/createdFrom=.*createdTo=/);
  await expect(page.locator('table.jobs tbody tr').first()).toBeVisible();
});

/** The theme's colours (style/main.css), as the browser computes them. */
const palette = {
  light: { chart: 'rgb(244, 245, 247)', failed: 'rgb(220, 38, 38)' },
  dark: { chart: 'rgb(29, 32, 38)', failed: 'rgb(248, 113, 113)' },
};

for (const scheme of ['light', 'dark'] as const) {
  test(`the chart is drawn in the ${scheme} theme's colours, and captured`, async ({ page }, testInfo) => {
    createJob({ status: 'FAILED' });
    await page.emulateMedia({ colorScheme: scheme });
    await login(page, '/admin/regeneration-jobs?chart=30d');
    const section = page.locator('section.activity');
    const chart = section.locator('svg.activity-chart');
    await expect(chart.locator('a.bucket')).toHaveCount(30);
    await expect(chart).toHaveCSS('background-color', palette[scheme].chart);
    await expect(chart.locator('.bar-failed').first()).toHaveCSS('fill', palette[scheme].failed);
    await section.screenshot({ path: testInfo.outputPath(`activity-${scheme}.png`) });
  });
}
