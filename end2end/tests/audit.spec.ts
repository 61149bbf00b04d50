import * as fs from 'node:fs';
import { createJob, expect, hydrated, login, test } from './helpers';

test('clicking an actor name filters the audit log to that actor', async ({ page }) => {
  const id = createJob({ targetId: `audit-${Date.now()}` });
  await login(page, `/admin/regeneration-jobs/${id}`);
  await hydrated(page, 'section.trigger');
  await page.getByText('Trigger job…').click();
  await page.getByRole('dialog').getByRole('button', { name: 'Trigger job' }).click();
  await expect(page.locator('h1 .badge')).toHaveText('RUNNING');

  // The detail page names the actor and links to this job's audit log.
  const actor = page.locator('.timeline .event-actor a').last();
  await expect(actor).toHaveText('admin');
  await page.getByRole('link', { name: 'This job in the audit log' }).click();
  await expect(page).toHaveURL(new RegExp(`/admin/audit\\?jobId=${id}$`));
  await expect(page.locator('table.audit-log tbody tr')).toHaveCount(2);

  await page.getByRole('link', { name: 'Audit', exact: true }).click();
  await page.locator('table.audit-log a.actor', { hasText: 'admin' }).first().click();

  await expect(page).toHaveURL(/\/admin\/audit\?actor=/);
  const names = await page.locator('table.audit-log a.actor').allInnerTexts();
  expect(names.length).toBeGreaterThan(0);
  expect(new Set(names)).toEqual(new Set(['admin']));
  await expect(page.getByRole('textbox', { name: 'Actor id' })).not.toHaveValue('');
});

test('the audit log filters by event type and pages with keyset links', async ({ page }) => {
  await login(page, '/admin/audit');
  await page.locator('label.check', { hasText: 'REGEN_JOB_CREATED' }).locator('input').check();
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await expect(page).toHaveURL(/eventType=REGEN_JOB_CREATED/);
  const badges = page.locator('table.audit-log tbody .badge');
  await expect(badges).toHaveCount(50);
  expect(new Set(await badges.allInnerTexts())).toEqual(new Set(['REGEN_JOB_CREATED']));
  await page.getByRole('link', { name: 'Older →' }).click();
  await expect(page).toHaveURL(/cursor=/);
  await expect(page.getByRole('link', { name: '← Newer' })).toBeVisible();
});

for (const [name, path, link] of [
  ['the job list', '/admin/regeneration-jobs?status=FAILED', 'CSV'],
  ['the audit log', '/admin/audit?eventType=REGEN_JOB_FAILED', 'NDJSON'],
] as const) {
  test(`${name} offers its filtered rows as a download`, async ({ page }) => {
    await login(page, path);
    const downloading = page.waitForEvent('download');
    await page.locator('.exports').getByRole('link', { name: link, exact: true }).click();
    const download = await downloading;
    const file = await download.path();
    const text = fs.readFileSync(file, 'utf8');
    if (link === 'CSV') {
      expect(download.suggestedFilename()).toMatch(/^regeneration-jobs_status-FAILED_\d{8}T\d{6}Z\.csv$/);
      const lines = text.trim().split('\r\n');
      expect(lines[0]).toBe('id,status,targetType,targetId,createdAt,createdBy');
      expect(lines.length).toBeGreaterThan(1);
      expect(lines.slice(1).every((line) => line.split(',')[1] === 'FAILED')).toBe(true);
    } else {
      expect(download.suggestedFilename()).toMatch(/^audit-events_eventType-REGEN_JOB_FAILED_\d{8}T\d{6}Z\.ndjson$/);
      const events = text.trim().split('\n').map((line) => JSON.parse(line));
      expect(events.length).toBeGreaterThan(0);
      expect(events.every((event) => event.eventType === 'REGEN_JOB_FAILED')).toBe(true);
    }
  });
}
