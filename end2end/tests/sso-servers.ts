import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';

/**
 * The two servers of the SSO specs, started for them alone: the test OpenID
 * provider (oidc/provider.mjs) and a regen-admin release binary configured to
 * use it, on its own port and SQLite file. The suite's shared server has SSO
 * off, so the other specs keep their password logins.
 */

const targetDir = process.env.CARGO_TARGET_DIR ?? path.join(os.homedir(), '.cache/regen-admin/target');
const bin = process.env.REGEN_BIN ?? path.join(targetDir, 'release/regen-admin');
const siteRoot = process.env.LEPTOS_SITE_ROOT ?? path.resolve(__dirname, '../../target/site');
const workDir = path.resolve(__dirname, '../test-results/sso');

/** The break-glass admin that `regen-admin demo` creates. */
export const BREAK_GLASS = { name: 'admin', password: 'sso-break-glass-password' };
export const PROVIDER_NAME = 'Test IdP';

export class TestProvider {
  private constructor(readonly issuer: string, private readonly process: ChildProcess) {}

  static async start(): Promise<TestProvider> {
    const child = spawn(process.execPath, [path.resolve(__dirname, '../oidc/provider.mjs'), '--port', '0'], {
      stdio: ['ignore', 'pipe', fs.openSync(path.join(workDir, 'provider.log'), 'w')],
    });
    const issuer = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the test provider printed no READY line in 15 s')), 15_000);
      child.once('exit', (code) => reject(new Error(`the test provider exited with ${code}; see provider.log`)));
      readline.createInterface({ input: child.stdout! }).on('line', (line) => {
        const ready = /^READY (\S+)$/.exec(line);
        if (ready) {
          clearTimeout(timer);
          resolve(ready[1]);
        }
      });
    });
    return new TestProvider(issuer, child);
  }

  /** Calls the provider's /__test/ control API; returns its JSON answer. */
  async control(method: 'GET' | 'POST', route: string, body?: unknown): Promise<unknown> {
    const response = await fetch(`${this.issuer}/__test/${route}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`${method} /__test/${route}: ${response.status} ${await response.text()}`);
    return response.json();
  }

  setGroups(user: string, groups: string[]) {
    return this.control('POST', `users/${user}`, { groups });
  }

  endSessions() {
    return this.control('GET', 'end-sessions');
  }

  reset() {
    return this.control('POST', 'reset');
  }

  stop() {
    this.process.kill('SIGTERM');
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export class RegenAdmin {
  private constructor(readonly origin: string, private readonly process: ChildProcess) {}

  static async start(issuer: string): Promise<RegenAdmin> {
    const port = await freePort();
    // regen-admin is browsed as `localhost` while the provider is at
    // 127.0.0.1: two sites with two cookie jars, as in production, so the
    // SameSite=Lax cookie of the sign-in really crosses sites on the way back.
    const origin = `http://localhost:${port}`;
    const env = {
      ...process.env,
      DATABASE_URL: `sqlite://${path.join(workDir, 'sso.db')}`,
      LEPTOS_SITE_ROOT: siteRoot,
      LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
      REGEN_PUBLIC_ORIGIN: origin,
      REGEN_ENV_LABEL: 'e2e-sso',
      REGEN_OIDC_ISSUER: issuer,
      REGEN_OIDC_CLIENT_ID: 'regen-admin',
      REGEN_OIDC_CLIENT_SECRET: 'regen-admin-secret',
      REGEN_OIDC_ADMIN_CLAIM: 'groups',
      REGEN_OIDC_ADMIN_VALUES: 'regen-admins',
      REGEN_OIDC_PROVIDER_NAME: PROVIDER_NAME,
      REGEN_PASSWORD_LOGIN: 'off',
      RUST_LOG: process.env.RUST_LOG ?? 'warn',
    };
    execFileSync(bin, ['demo', '--admin-password', BREAK_GLASS.password], { env, stdio: 'ignore' });
    const log = fs.openSync(path.join(workDir, 'regen-admin.log'), 'w');
    const child = spawn(bin, ['serve'], { env, stdio: ['ignore', log, log] });
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`regen-admin exited with ${child.exitCode}; see regen-admin.log`);
      const healthy = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
      if (healthy) return new RegenAdmin(origin, child);
      if (Date.now() > deadline) throw new Error('regen-admin was not healthy within 60 s');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  url(pathAndQuery: string): string {
    return `${this.origin}${pathAndQuery}`;
  }

  stop() {
    this.process.kill('SIGTERM');
  }
}

/** Starts both servers in a fresh test-results/sso/. */
export async function startServers(): Promise<{ provider: TestProvider; app: RegenAdmin }> {
  fs.rmSync(workDir, { recursive: true, force: true });
  fs.mkdirSync(workDir, { recursive: true });
  const provider = await TestProvider.start();
  try {
    return { provider, app: await RegenAdmin.start(provider.issuer) };
  } catch (error) {
    provider.stop();
    throw error;
  }
}
