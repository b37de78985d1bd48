import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRelay, type TestRelay } from './support/relay.js';

/**
 * The queue dashboard (Bull Board at /admin/queues on the ops port), in a real headless browser:
 * Debian's chromium driven by playwright-core. Without a Chromium (CHROMIUM_PATH, or
 * /usr/bin/chromium), the browser tests are skipped with a loud reason on a developer's machine and
 * fail in CI (CI=true), where .ci/run installs it.
 */
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const inCi = process.env.CI !== undefined && !['', '0', 'false'].includes(process.env.CI);
const skipBrowser = !existsSync(chromiumPath) && !inCi;
const noBrowser = `no Chromium at ${chromiumPath}: install it (apt-get install chromium, as .ci/run does) or set CHROMIUM_PATH`;
if (skipBrowser)
  console.warn(`\n*** SKIPPED: the dashboard's browser tests (test/dashboard.test.ts): ${noBrowser} ***\n`);

const adminToken = 'dashboard-admin-token-0123456789';
const triggerToken = 'dashboard-trigger-token';
const config = {
  admin: { token: adminToken },
  channels: {
    webhook: [{ group: 'shop', trigger: 'orders', auth: { scheme: 'token', token: triggerToken } }],
  },
};

let t: TestRelay;
let browser: Browser;
let jobId: string;

beforeAll(async () => {
  t = await startTestRelay(config);
  const res = await t.post('/webhook/shop/orders', JSON.stringify({ order: 'A-1001' }), {
    'content-type': 'application/json',
    authorization: `Bearer ${triggerToken}`,
  });
  expect(res.status).toBe(202);
  jobId = ((await res.json()) as { ids: string[] }).ids[0] ?? '';
}, 60_000);

afterAll(async () => {
  await t?.close();
});

describe.skipIf(skipBrowser)('queue dashboard in a browser', () => {
  beforeAll(async () => {
    if (!existsSync(chromiumPath)) throw new Error(`CI=${process.env.CI} and ${noBrowser}`);
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
  });

  it('loads with the token once, lists the queue and shows a job', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const first = await page.goto(`${t.opsUrl}/admin/queues?token=${adminToken}`);
    expect(first?.ok()).toBe(true);
    // The token left the address bar; the session lives in a cookie the page script cannot read.
    expect(page.url()).toBe(`${t.opsUrl}/admin/queues`);
    const [cookie] = await context.cookies();
    expect(cookie).toMatchObject({
      name: 'relay_dashboard',
      httpOnly: true,
      sameSite: 'Strict',
      path: '/admin/queues',
    });
    expect(cookie?.value).not.toContain(adminToken);

    await expect
      .poll(() => page.getByText('relay-events').first().isVisible(), { timeout: 20_000 })
      .toBe(true);

    await page.goto(`${t.opsUrl}/admin/queues/queue/relay-events?status=waiting`);
    await expect.poll(() => page.getByText(jobId).first().isVisible(), { timeout: 20_000 }).toBe(true);
    await expect
      .poll(() => page.getByText('webhook.received').first().isVisible(), { timeout: 20_000 })
      .toBe(true);
    await context.close();
  });

  it('refuses a browser without the token, and a wrong token', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const bare = await page.goto(`${t.opsUrl}/admin/queues`);
    expect(bare?.status()).toBe(401);
    expect(await page.content()).not.toContain('relay-events');
    const wrong = await page.goto(`${t.opsUrl}/admin/queues?token=not-the-token`);
    expect(wrong?.status()).toBe(401);
    expect(await context.cookies()).toEqual([]);
    await context.close();
  });
});

describe('queue dashboard over HTTP', () => {
  it('refuses its API without a token or with a forged cookie, and takes the bearer header', async () => {
    const api = `${t.opsUrl}/admin/queues/api/queues`;
    expect((await fetch(api)).status).toBe(401);
    expect((await fetch(api, { headers: { cookie: 'relay_dashboard=forged' } })).status).toBe(401);
    // The cookie is not the token, and the admin API does not take the cookie at all.
    const login = await fetch(`${t.opsUrl}/admin/queues?token=${adminToken}`, { redirect: 'manual' });
    expect(login.status).toBe(303);
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    expect(cookie).toMatch(/^relay_dashboard=/);
    expect((await fetch(api, { headers: { cookie } })).status).toBe(200);
    expect((await fetch(`${t.opsUrl}/admin/events`, { headers: { cookie } })).status).toBe(401);
    const ok = await fetch(api, { headers: { authorization: `Bearer ${adminToken}` } });
    expect(ok.status).toBe(200);
    const body = (await ok.json()) as { queues: Array<{ name: string; readOnlyMode: boolean }> };
    expect(body.queues.map((q) => q.name)).toEqual(['relay-events']);
    expect(body.queues[0]?.readOnlyMode).toBe(true);
    // Read-only is enforced by the server, not just hidden buttons: a job is never changed in place here.
    const pause = await fetch(`${t.opsUrl}/admin/queues/api/queues/relay-events/pause`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${adminToken}` },
    });
    expect(pause.status).toBeGreaterThanOrEqual(400);
    expect(await t.queue().isPaused()).toBe(false);
  });

  it('answers 404 when no admin token is configured', async () => {
    const bare = await startTestRelay({ channels: config.channels });
    try {
      expect((await fetch(`${bare.opsUrl}/admin/queues`)).status).toBe(404);
      expect((await fetch(`${bare.opsUrl}/admin/queues?token=anything`)).status).toBe(404);
      expect((await fetch(`${bare.opsUrl}/admin/queues/api/queues`)).status).toBe(404);
    } finally {
      await bare.close();
    }
  });
});
