import { createJob, expect, login, test } from './helpers';

test('clicking a bar of the activity chart lists the jobs created in its window', async ({ page }) => {
  createJob({ status: 'FAILED' });
  await login(page);
  const chart = page.getByRole('img', { name: /Jobs created per hour over the last 24 hours/ });
  await expect(chart).toBeVisible();
  const buckets = page.locator('svg.activity-chart a.bucket');
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
  await expect(page.getByRole('img', { name: /per day over the last 30 days/ })).toBeVisible();
  await expect(page.locator('svg.activity-chart a.bucket')).toHaveCount(30);
  await page.getByText('The numbers').click();
  await expect(page.locator('.chart-numbers tbody tr')).toHaveCount(30);
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
