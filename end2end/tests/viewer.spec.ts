import * as fs from 'node:fs';
import { createJob, expect, hydrated, login, test } from './helpers';

const DOC = '{"title":"Q3 insight","steps":[{"prompt":"first","tokens":12},{"prompt":"second","tokens":34}],"big":123456789012345678901234567890,"unicode":"caf\\u00e9","nested":{"deep":{"deeper":{"value":true}}}}';

async function open(page, instruction = DOC) {
  const id = createJob({ instruction });
  await login(page, `/admin/regeneration-jobs/${id}`);
  await hydrated(page, '.jt-viewer');
  return { id, viewer: page.locator('.json-section').first() };
}

test('nodes collapse and expand, and expand all opens everything', async ({ page }) => {
  const { viewer } = await open(page);
  const deeper = viewer.locator('[data-path="/nested/deep/deeper/value"]');
  await expect(deeper).toBeHidden();
  await viewer.getByRole('button', { name: 'Expand all' }).click();
  await expect(deeper).toBeVisible();
  await viewer.getByRole('button', { name: 'Collapse all' }).click();
  await expect(viewer.locator('[data-path="/title"]')).toBeHidden();
  await viewer.locator('[role=group][aria-label="Expand to depth"]').getByRole('button', { name: '2' }).click();
  await expect(viewer.locator('[data-path="/steps/0"]')).toBeVisible();
  await expect(viewer.locator('[data-path="/steps/0/prompt"]')).toBeHidden();
});

test('copy path and copy value put the exact text on the clipboard', async ({ page, context }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  const { viewer } = await open(page);
  const node = viewer.locator('[data-path="/steps/1"]');
  await node.locator(':scope > details > summary').hover();
  await node.locator(':scope > details > summary [data-act="path"]').click();
  await expect(viewer.locator('.jt-status')).toContainText('Path copied');
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe('/steps/1');
  await node.locator(':scope > details > summary [data-act="value"]').click();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe('{"prompt":"second","tokens":34}');
  await viewer.getByRole('button', { name: 'Copy all' }).click();
  await expect(viewer.locator('.jt-status')).toHaveText('Document copied');
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(DOC);
});

test('download saves the stored bytes under a name with the job and field', async ({ page }) => {
  const { id, viewer } = await open(page);
  const download = page.waitForEvent('download');
  await viewer.getByRole('link', { name: 'Download' }).click();
  const file = await download;
  expect(file.suggestedFilename()).toBe(`regeneration-job-${id}-instructionJson.json`);
  expect(fs.readFileSync(await file.path(), 'utf8')).toBe(DOC);
});

test('the raw view shows the stored text exactly', async ({ page }) => {
  const { viewer } = await open(page);
  await viewer.getByRole('button', { name: 'Raw view' }).click();
  await expect(viewer.locator('.jt-raw')).toBeVisible();
  expect(await viewer.locator('.jt-raw').textContent()).toBe(DOC);
  await expect(viewer.locator('.jt-tree')).toBeHidden();
  await viewer.getByRole('button', { name: 'Tree view' }).click();
  await expect(viewer.locator('.jt-tree')).toBeVisible();
});

test('the filter shows matching nodes with their paths', async ({ page }) => {
  const { viewer } = await open(page);
  await viewer.getByPlaceholder('Filter keys and values').fill('second');
  await expect(viewer.locator('.jt-status')).toHaveText('1 matching node');
  await expect(viewer.locator('.jt-hit')).toHaveAttribute('data-path', '/steps/1/prompt');
  await expect(viewer.locator('[data-path="/title"]')).toBeHidden();
  await viewer.getByPlaceholder('Filter keys and values').fill('');
  await expect(viewer.locator('[data-path="/title"]')).toBeVisible();
});

test('the tree is navigable with the keyboard', async ({ page }) => {
  const { viewer } = await open(page);
  const root = viewer.locator('summary.jt-row').first();
  await root.focus();
  await page.keyboard.press('ArrowDown');
  await expect(viewer.locator('[data-path="/title"] > .jt-row')).toBeFocused();
  await page.keyboard.press('End');
  await page.keyboard.press('Home');
  await expect(root).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(viewer.locator('[data-path="/title"]')).toBeHidden();
  await page.keyboard.press('ArrowRight');
  await expect(viewer.locator('[data-path="/title"]')).toBeVisible();
  await expect(viewer.locator('li[data-path=""]')).toHaveAttribute('aria-expanded', 'true');
});

test('big numbers and unicode escapes are shown as written, scripts as text', async ({ page }) => {
  const xss = '{"</script><script>window.__xss=1</script>":"<img src=x onerror=window.__xss=2>","link":"javascript:alert(1)","n":123456789012345678901234567890}';
  const { viewer } = await open(page, xss);
  await expect(viewer.locator('.jt-num').first()).toHaveText('123456789012345678901234567890');
  await expect(viewer.locator('.jt-key', { hasText: '</script>' })).toBeVisible();
  expect(await page.evaluate(() => (window as any).__xss)).toBeUndefined();
  await expect(viewer.locator('img')).toHaveCount(0);
});

test('without the Clipboard API, copy falls back and still says what happened', async ({ page, context }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  const { viewer } = await open(page);
  await page.evaluate(() => {
    navigator.clipboard.writeText = () => Promise.reject(new DOMException('denied', 'NotAllowedError'));
  });
  await viewer.getByRole('button', { name: 'Copy all' }).click();
  await expect(viewer.locator('.jt-status')).toHaveText(/Document copied|Copy is not available here/);
  if ((await viewer.locator('.jt-status').textContent()) === 'Document copied') {
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(DOC);
  }
  await expect(viewer.locator('textarea')).toHaveCount(0);
});
