// Browser measurements for `bench/run --delivery`: a detail page's first
// visit (empty cache) and repeat visit, as Chromium fetches them: requests,
// bytes over the wire (all, and of /pkg/ assets), and the time from
// navigation start until both islands have hydrated: the median of ROUNDS
// pairs of visits, since one visit on a busy 2-core machine varies by ±50 ms.
// Usage: node bench/delivery.mjs BASE_URL PASSWORD DETAIL_PATH
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const { chromium } = require('../end2end/node_modules/playwright-core');

const [base, password, detailPath] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const context = await browser.newContext();
// Resolves with performance.now() when both islands report hydration.
await context.addInitScript(() => {
  const done = () => document.querySelector('section.trigger[data-hydrated="true"]')
    && document.querySelector('.jt-viewer[data-hydrated="true"]');
  window.__interactive = new Promise((resolve) => {
    const observer = new MutationObserver(() => {
      if (done()) {
        observer.disconnect();
        resolve(performance.now());
      }
    });
    observer.observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-hydrated'] });
  });
});
const page = await context.newPage();
await page.goto(`${base}/login`);
await page.fill('input[name=username]', 'admin');
await page.fill('input[name=password]', password);
await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);

const cdp = await context.newCDPSession(page);
await cdp.send('Network.enable');
const ROUNDS = 9;

async function visit() {
  const urls = new Map();
  const totals = { requests: 0, bytes: 0, assetBytes: 0, assetRequestsFromNetwork: 0 };
  const sent = (e) => { urls.set(e.requestId, e.request.url); totals.requests += 1; };
  const finished = (e) => {
    // encodedDataLength: bytes received over the network, headers included;
    // 0 for a response served from the browser's cache.
    totals.bytes += e.encodedDataLength;
    const url = urls.get(e.requestId);
    if (url && new URL(url).pathname.startsWith('/pkg/')) {
      totals.assetBytes += e.encodedDataLength;
      if (e.encodedDataLength > 0) totals.assetRequestsFromNetwork += 1;
    }
  };
  cdp.on('Network.requestWillBeSent', sent);
  cdp.on('Network.loadingFinished', finished);
  await page.goto(`${base}${detailPath}`);
  const interactiveMs = await page.evaluate(() => window.__interactive);
  await page.waitForLoadState('networkidle');
  cdp.off('Network.requestWillBeSent', sent);
  cdp.off('Network.loadingFinished', finished);
  return { ...totals, interactiveMs };
}

const firsts = [], repeats = [];
for (let round = 0; round < ROUNDS; round++) {
  // Every first visit starts cold (the login page, too, warmed the cache).
  await cdp.send('Network.clearBrowserCache');
  firsts.push(await visit());
  repeats.push(await visit());
}
await browser.close();
const median = (visits) => {
  const sorted = [...visits].sort((a, b) => a.interactiveMs - b.interactiveMs);
  return { ...sorted[Math.floor(sorted.length / 2)], rounds: visits.length,
           interactiveMsRange: [sorted[0].interactiveMs, sorted[sorted.length - 1].interactiveMs],
           assetBytesMax: Math.max(...visits.map((v) => v.assetBytes)) };
};
console.log(JSON.stringify({ first: median(firsts), repeat: median(repeats) }));
