import * as fs from 'node:fs';
import { createJob, expect, hydrated, login, test } from './helpers';

// The e2e server hides the values of `password`, `apiKey` and `secret` keys
// and strings starting `sk_live_` (REGEN_REDACT_KEYS and
// REGEN_REDACT_VALUE_PATTERNS in start-server.sh).
const STORED = '{"user":"ada","password":"e2e-hidden-1","nested":{"apiKey":{"k":"e2e-hidden-2"}},"card":"sk_live_e2e-hidden-3","note":"[REDACTED]","n":12345678901234567890.125}';
const SHOWN = '{"user":"ada","password":"[REDACTED]","nested":{"apiKey":"[REDACTED]"},"card":"[REDACTED]","note":"[REDACTED]","n":12345678901234567890.125}';

async function open(page) {
  const id = createJob({ instruction: STORED });
  await login(page, `/admin/regeneration-jobs/${id}`);
  await hydrated(page, '.jt-viewer');
  return { id, viewer: page.locator('.json-section').first() };
}

test('the viewer says how many values are hidden and marks exactly those nodes', async ({ page }) => {
  const { viewer } = await open(page);

  await expect(viewer.locator('.redaction-notice')).toHaveText('3 values hidden');
  await expect(viewer.locator('li.redacted')).toHaveCount(3);
  for (const path of ['/password', '/nested/apiKey', '/card']) {
    const node = viewer.locator(`[data-path="${path}"]`);
    await expect(node).toHaveClass(/\bredacted\b/);
    await expect(node).toHaveAttribute('title', /hidden by configuration/);
    await expect(node.locator(':scope > .jt-row .jt-str')).toHaveText('"[REDACTED]"');
  }
  // Stored as "[REDACTED]", not hidden by the server: not marked.
  await expect(viewer.locator('[data-path="/note"]')).not.toHaveClass(/\bredacted\b/);
  await expect(viewer.locator('[data-path="/user"]')).not.toHaveClass(/\bredacted\b/);
  expect(await page.content()).not.toContain('e2e-hidden');
});

test('the raw view and the download show the redacted document, every other byte as stored', async ({ page }) => {
  const { id, viewer } = await open(page);

  await viewer.getByRole('button', { name: 'Raw view' }).click();
  expect(await viewer.locator('.jt-raw').textContent()).toBe(SHOWN);
  const download = page.waitForEvent('download');
  await viewer.getByRole('link', { name: 'Download' }).click();
  const file = await download;
  expect(file.suggestedFilename()).toBe(`regeneration-job-${id}-instructionJson.json`);
  expect(fs.readFileSync(await file.path(), 'utf8')).toBe(SHOWN);
});

test('a document with nothing to hide says nothing about redaction', async ({ page }) => {
  const id = createJob({ instruction: '{"user":"ada","note":"[REDACTED]"}' });
  await login(page, `/admin/regeneration-jobs/${id}`);
  await hydrated(page, '.jt-viewer');
  await expect(page.locator('.redaction-notice')).toHaveCount(0);
  await expect(page.locator('li.redacted')).toHaveCount(0);
});
