import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import { expect, Page, test as base } from '@playwright/test';

export const ADMIN_PASSWORD = 'e2e-admin-password';

const targetDir = process.env.CARGO_TARGET_DIR ?? path.join(os.homedir(), '.cache/regen-admin/target');
const bin = process.env.REGEN_BIN ?? path.join(targetDir, 'release/regen-admin');
const databaseUrl = `sqlite://${path.resolve(__dirname, '../test-results/server/e2e.db')}`;

/** Inserts a job the way upstream producers do, and returns its id. */
export function createJob(
  options: { status?: string; instruction?: string; targetType?: string; targetId?: string; error?: string } = {},
): string {
  // Through a file: a command-line argument is limited to 128 KiB.
  const instructionFile = path.join(os.tmpdir(), `regen-e2e-${process.pid}-${Date.now()}.json`);
  fs.writeFileSync(instructionFile, options.instruction ?? '{"prompt":"rewrite for e2e","steps":[{"n":1},{"n":2}],"big":123456789012345678901234567890}');
  const args = [
    'job', 'create',
    '--target-type', options.targetType ?? 'insight',
    '--target-id', options.targetId ?? `e2e-${Date.now()}-${Math.floor(Math.random() * 1e6)}`,
    '--instruction', `@${instructionFile}`,
    '--status', options.status ?? 'PENDING',
    '--created-by', 'e2e',
  ];
  if (options.error) args.push('--error', options.error);
  try {
    return execFileSync(bin, args, { env: { ...process.env, DATABASE_URL: databaseUrl } }).toString().trim();
  } finally {
    fs.rmSync(instructionFile, { force: true });
  }
}

function cli(args: string[], input = ''): string {
  return execFileSync(bin, args, { input, env: { ...process.env, DATABASE_URL: databaseUrl } }).toString().trim();
}

/** Adds an admin of its own for a test that changes an account. */
export function createAdmin(name: string, password: string) {
  cli(['user', 'add', name, '--role', 'admin'], `${password}\n`);
}

/** Makes an API token for a user, as an operator would; returns the secret. */
export function createToken(user: string, label: string): string {
  return cli(['token', 'create', user, '--label', label]);
}

export async function login(page: Page, next = '/admin/regeneration-jobs') {
  await loginAs(page, 'admin', ADMIN_PASSWORD, next);
}

export async function loginAs(page: Page, name: string, password: string, next = '/admin/regeneration-jobs') {
  await page.goto(`/login?next=${encodeURIComponent(next)}`);
  await page.getByLabel('User name').fill(name);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL((url) => !url.pathname.startsWith('/login'));
}

/** A fresh admin of the test's own, signed in: their preferences are theirs alone. */
export async function loginAsNewAdmin(page: Page, prefix: string, next = '/admin/regeneration-jobs'): Promise<string> {
  const name = `${prefix}-${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  const password = 'e2e-own-admin-password';
  createAdmin(name, password);
  await loginAs(page, name, password, next);
  return name;
}

/** Saves the signed-in admin's preferences on the account page, as they would. */
export async function choosePreferences(page: Page, options: { time?: 'UTC' | 'Local' | 'Relative'; shortcuts?: boolean }) {
  await page.goto('/admin/account');
  const form = page.locator('form.preferences');
  if (options.time) await form.getByRole('radio', { name: new RegExp(`^${options.time}`) }).check();
  if (options.shortcuts !== undefined) await form.getByRole('checkbox', { name: /Keyboard shortcuts/ }).setChecked(options.shortcuts);
  await form.getByRole('button', { name: 'Save preferences' }).click();
  await expect(page.locator('p.notice.success')).toHaveText('Preferences saved.');
}

/** The page script has run: it shows the footer's shortcuts link. */
export async function pageScriptReady(page: Page) {
  await expect(page.locator('a.shortcuts-link')).toBeVisible();
}

/** Waits until an island with `data-hydrated` has run its effects. */
export async function hydrated(page: Page, selector: string) {
  await page.locator(`${selector}[data-hydrated="true"]`).first().waitFor({ timeout: 15_000 });
}

/** Every test fails on a console error, a hydration warning or an uncaught exception. */
export const test = base.extend<{ allowedConsoleErrors: RegExp[]; consoleErrors: string[] }>({
  // A test that loads an error page on purpose lists the browser's own report of it here.
  allowedConsoleErrors: [[], { option: true }],
  consoleErrors: [
    async ({ page, allowedConsoleErrors }, use) => {
      const errors: string[] = [];
      page.on('console', (message) => {
        const text = message.text();
        const hydrationWarning = message.type() === 'warning' && /hydrat/i.test(text);
        if ((message.type() === 'error' || hydrationWarning) && !allowedConsoleErrors.some((allowed) => allowed.test(text))) {
          errors.push(text);
        }
      });
      page.on('pageerror', (error) => errors.push(String(error)));
      await use(errors);
      expect(errors, 'console errors').toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };
