import { createJob, expect, login, test } from './helpers';

const LIST = '/admin/regeneration-jobs';
const TEMPLATE = 'https://cms.example.com/insights/{targetId}/edit';

/** What the server puts for `{targetId}`: every byte but A-Z a-z 0-9 - . _ ~ percent-encoded. */
function segment(id: string): string {
  return encodeURIComponent(id).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

test('the detail page opens a configured target, its id encoded as one path segment', async ({ page }) => {
  const targetId = `e2e ../x?y=1#z ü-${Date.now()}`;
  const id = createJob({ targetId });
  await login(page, `${LIST}/${id}`);
  const open = page.getByRole('link', { name: /Open target/ });
  await expect(open).toHaveAttribute('href', TEMPLATE.replace('{targetId}', segment(targetId)));
  expect(await open.getAttribute('href')).toContain('/e2e%20..%2Fx%3Fy%3D1%23z%20%C3%BC-');
  await expect(open).toHaveAttribute('rel', 'noopener noreferrer');
  await expect(open).toHaveAttribute('target', '_blank');
  await expect(open).toContainText('(opens in a new tab)');
});

test('the list page makes a configured target id a link, and leaves others as text', async ({ page }) => {
  const targetId = `e2e-list-${Date.now()}`;
  createJob({ targetId });
  createJob({ targetId, targetType: 'unlinked' });
  await login(page, `${LIST}?targetId=${targetId}`);
  const rows = page.locator('table.jobs tbody tr');
  await expect(rows).toHaveCount(2);
  const linked = rows.filter({ hasText: 'insight' }).locator('td.target-id a');
  await expect(linked).toHaveAttribute('href', TEMPLATE.replace('{targetId}', targetId));
  await expect(linked).toHaveAttribute('rel', 'noopener noreferrer');
  await expect(rows.filter({ hasText: 'unlinked' }).locator('td.target-id a')).toHaveCount(0);
  await expect(rows.filter({ hasText: 'unlinked' }).locator('td.target-id')).toHaveText(targetId);
});

test('a target type without a template gets no "Open target"', async ({ page }) => {
  const id = createJob({ targetType: 'unlinked' });
  await login(page, `${LIST}/${id}`);
  await expect(page.locator('dl.meta')).toBeVisible();
  await expect(page.getByRole('link', { name: /Open target/ })).toHaveCount(0);
});

test("the detail page lists the target's ten newest other jobs, and links to the rest", async ({ page }) => {
  const targetId = `e2e-others-${Date.now()}`;
  const ids = Array.from({ length: 12 }, (_, i) => createJob({ targetId, status: i % 2 ? 'FAILED' : 'PENDING' }));
  createJob({ targetId, targetType: 'unlinked' });
  const shown = ids[0];
  await login(page, `${LIST}/${shown}`);
  const panel = page.locator('section.target-jobs-panel');
  await expect(panel.getByRole('heading', { name: 'Other jobs for this target' })).toBeVisible();
  const rows = panel.locator('tbody tr');
  await expect(rows).toHaveCount(10);
  const listed = await rows.locator('a.job-id').evaluateAll((links) => links.map((a) => a.getAttribute('href')));
  expect(listed).toEqual(ids.slice(1).reverse().slice(0, 10).map((id) => `${LIST}/${id}`));
  await expect(rows.first().locator('.badge')).toHaveText('FAILED');
  await expect(rows.first().locator('time')).toHaveAttribute('datetime', /Z$/);

  const more = panel.getByRole('link', { name: /every job for this target/ });
  await expect(more).toHaveAttribute('href', `${LIST}?targetType=insight&targetId=${targetId}`);
  await more.click();
  await expect(page.locator('table.jobs tbody tr')).toHaveCount(12);
});

test('a target with no other job says so, and offers no "more"', async ({ page }) => {
  const id = createJob({ targetId: `e2e-alone-${Date.now()}` });
  await login(page, `${LIST}/${id}`);
  const panel = page.locator('section.target-jobs-panel');
  await expect(panel).toContainText('No other jobs for this target.');
  await expect(panel.getByRole('link')).toHaveCount(0);
});
