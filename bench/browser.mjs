// Browser measurements for bench.py: bytes a browser downloads per page, and
// how long the 5 MB detail page takes to become interactive.
// Usage: node bench/browser.mjs BASE_URL PASSWORD LIST_PATH DETAIL_PATH BIG_DETAIL_PATH
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const { chromium } = require('../end2end/node_modules/playwright-core');

const [base, password, listPath, detailPath, bigPath] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const context = await browser.newContext();
const page = await context.newPage();
await page.goto(`${base}/login`);
await page.fill('input[name=username]', 'admin');
await page.fill('input[name=password]', password);
await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);

async function downloadedBytes(path, waitFor) {
  // A fresh page with an empty cache: what a first visit costs.
  const fresh = await context.newPage();
  await fresh.route('**/*', (route) => route.continue());
  const responses = [];
  fresh.on('response', (response) => responses.push(response));
  await fresh.goto(`${base}${path}`, { waitUntil: 'networkidle' });
  if (waitFor) await fresh.locator(waitFor).first().waitFor();
  let total = 0, wasm = 0;
  for (const response of responses) {
    const sizes = await response.request().sizes();
    total += sizes.responseBodySize + sizes.responseHeadersSize;
    if (response.url().endsWith('.wasm')) wasm += sizes.responseBodySize;
  }
  await fresh.close();
  return { total, wasm, requests: responses.length };
}

const list = await downloadedBytes(listPath, null);
const detail = await downloadedBytes(detailPath, '.jt-viewer[data-hydrated="true"]');

const big = await context.newPage();
await big.goto(`${base}${bigPath}`);
await big.locator('.jt-viewer[data-hydrated="true"]').first().waitFor({ timeout: 60_000 });
const interactiveMs = await big.evaluate(() => performance.now());
await browser.close();
console.log(JSON.stringify({ list, detail, bigInteractiveMs: interactiveMs }));
