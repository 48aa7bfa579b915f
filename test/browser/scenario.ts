/**
 * @module browser-scenario
 * The document's steps (share-mlflow-models) in a real browser (Debian's chromium, driven by playwright-core),
 * against a regate listening on a loopback port: sign in as a model's manager, open the model, open
 * Permissions, grant Can Read to a group, Save; a member of that group sees the model and a non-member does
 * not; a reader requests a transition to Production, a staging manager sees no Approve button, a production
 * manager approves, and the activity shows it. Defined once, run against each runtime (Node, Worker).
 * Identities and the model are set up through the API as an admin would (SCIM, tokens, registry).
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
const SCIM = '/api/2.0/preview/scim/v2';

export interface Target {
  url: string;
  adminToken: string;
  stop(): Promise<void>;
}

interface Person { id: string; name: string; token: string }

/** `screenshots`: directory to save the three screenshots into (one runtime's run writes them). */
export function browserScenario(runtime: string, start: () => Promise<Target>, opts: { screenshots?: string } = {}): void {
  describe(`pages in chromium on ${runtime}`, () => {
    let target: Target;
    let browser: Browser;
    const people: Record<string, Person> = {};

    async function apiCall(method: string, path: string, body?: unknown, token = target.adminToken) {
      const r = await fetch(`${target.url}${path}`, {
        method,
        headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await r.text();
      if (!r.ok) throw new Error(`${method} ${path} -> ${r.status} ${text}`);
      return text ? JSON.parse(text) : {};
    }

    async function person(name: string): Promise<Person> {
      const u = await apiCall('POST', `${SCIM}/Users`, { userName: name });
      const t = await apiCall('POST', '/api/2.0/token-management/on-behalf-of/tokens', { user_name: name });
      return (people[name] = { id: u.id, name, token: t.token_value });
    }

    /** A fresh browser context (its own cookie jar), signed in through the sign-in page with the keyboard. */
    async function signedIn(who: Person, javaScriptEnabled = true): Promise<Page> {
      const ctx = await browser.newContext({ viewport: { width: 1200, height: 900 }, javaScriptEnabled });
      const page = await ctx.newPage();
      await page.goto(`${target.url}/ui/models`);
      expect(new URL(page.url()).pathname).toBe('/ui/sign-in');
      await page.getByLabel('Access token').fill(who.token);
      await page.keyboard.press('Enter');
      await page.waitForURL(/\/ui\/models$/);
      return page;
    }

    beforeAll(async () => {
      if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium; .ci/run does).`);
      target = await start();
      browser = await chromium.launch({ executablePath: CHROMIUM });
      for (const n of ['owner@x', 'member@x', 'outsider@x', 'staging@x', 'prod@x']) await person(n);
      await apiCall('POST', `${SCIM}/Groups`, { displayName: 'analysts', members: [{ value: people['member@x']!.id }] });
      const owner = people['owner@x']!.token;
      await apiCall('POST', '/api/2.0/mlflow/registered-models/create', { name: 'fraud-detector', description: 'Scores card payments for fraud.' }, owner);
      await apiCall('POST', '/api/2.0/mlflow/registered-models/set-tag', { name: 'fraud-detector', key: 'team', value: 'risk' }, owner);
      await apiCall('POST', '/api/2.0/mlflow/model-versions/create', { name: 'fraud-detector', source: 's3://models/fraud/1' }, owner);
      await apiCall('POST', '/api/2.0/mlflow/model-versions/create', { name: 'fraud-detector', source: 's3://models/fraud/2' }, owner);
      await apiCall('POST', '/api/2.0/mlflow/model-versions/transition-stage', { name: 'fraud-detector', version: '1', stage: 'Staging', archive_existing_versions: false }, owner);
      await apiCall('POST', '/api/2.0/mlflow/registered-models/create', { name: 'churn' }, owner);
      const id = (await apiCall('GET', '/api/2.0/mlflow/databricks/registered-models/get?name=fraud-detector', undefined, owner)).registered_model_databricks.id;
      await apiCall('PATCH', `/api/2.0/permissions/registered-models/${id}`, {
        access_control_list: [
          { user_name: 'staging@x', permission_level: 'CAN_MANAGE_STAGING_VERSIONS' },
          { user_name: 'prod@x', permission_level: 'CAN_MANAGE_PRODUCTION_VERSIONS' },
        ],
      }, owner);
      if (opts.screenshots) {
        mkdirSync(opts.screenshots, { recursive: true });
        // So the existence check at the end proves this run wrote them.
        for (const f of ['models', 'model', 'permission-settings']) rmSync(`${opts.screenshots}/${f}.png`, { force: true });
      }
    }, 180_000);

    afterAll(async () => {
      await browser?.close();
      await target?.stop();
    }, 60_000);

    it('the manager opens the model, opens Permissions, grants Can Read to a group and saves', async () => {
      const page = await signedIn(people['owner@x']!);
      await page.getByRole('link', { name: 'fraud-detector' }).click();
      await expect.poll(() => page.locator('h1').textContent()).toBe('fraud-detector');
      await page.getByRole('link', { name: 'Permissions', exact: true }).click();
      await expect.poll(() => page.locator('h1').textContent()).toBe('Permission Settings: fraud-detector');
      // Inherited entries are shown, and cannot be removed here.
      const inherited = page.locator('table').last();
      expect(await inherited.textContent()).toContain('admins');
      expect(await page.getByRole('button', { name: 'Remove admins' }).count()).toBe(0);
      // The level picker offers the five grant levels and nothing else.
      expect(await page.getByLabel('Permission', { exact: true }).locator('option').allTextContents()).toEqual([
        'Can Read', 'Can Edit', 'Can Manage Staging Versions', 'Can Manage Production Versions', 'Can Manage',
      ]);
      await page.getByLabel('User, group or service principal').selectOption({ label: 'analysts' });
      await page.getByLabel('Permission', { exact: true }).selectOption({ label: 'Can Read' });
      await page.getByRole('button', { name: 'Add', exact: true }).click();
      await page.getByText('Unsaved changes').waitFor();
      await page.setViewportSize({ width: 1000, height: 700 });
      if (opts.screenshots) await page.screenshot({ path: `${opts.screenshots}/permission-settings.png`, fullPage: true });
      await page.getByRole('button', { name: 'Save', exact: true }).click();
      await page.getByText('Permissions saved.').waitFor();
      expect(await page.getByRole('row', { name: /analysts\s*Group\s*Can Read/ }).count()).toBe(1);
      await page.context().close();
    }, 60_000);

    it('a member of the group sees the model; a non-member does not', async () => {
      const member = await signedIn(people['member@x']!);
      expect(await member.getByRole('link', { name: 'fraud-detector' }).count()).toBe(1);
      expect(await member.getByRole('cell', { name: 'Can Read' }).count()).toBe(1);
      await member.context().close();
      const outsider = await signedIn(people['outsider@x']!);
      expect(await outsider.getByRole('link', { name: 'fraud-detector' }).count()).toBe(0);
      expect(await outsider.getByText('There is no model you can read yet.').count()).toBe(1);
      await outsider.goto(`${target.url}/ui/model?name=fraud-detector`);
      expect(await outsider.getByRole('alert').textContent()).toContain('not found');
      await outsider.context().close();
    }, 60_000);

    it('a reader requests a transition to Production; a staging manager sees no Approve; a production manager approves', async () => {
      const reader = await signedIn(people['member@x']!);
      await reader.getByRole('link', { name: 'fraud-detector' }).click();
      expect(await reader.getByRole('button', { name: 'Save description' }).count()).toBe(0);
      await reader.getByLabel('Version 1 to').selectOption('Production');
      await reader.locator('#comment-1').fill('Validated on March data');
      await reader.locator('#comment-1').press('Enter');
      await reader.getByText('Transition requested.').waitFor();
      expect(await reader.getByRole('button', { name: /^Cancel version 1 to Production/ }).count()).toBe(1);
      expect(await reader.getByRole('button', { name: /^Approve/ }).count()).toBe(0);
      await reader.context().close();

      const staging = await signedIn(people['staging@x']!);
      await staging.goto(`${target.url}/ui/model?name=fraud-detector`);
      expect(await staging.getByRole('cell', { name: 'Staging → Production' }).count()).toBe(1);
      expect(await staging.getByRole('button', { name: /^Approve/ }).count()).toBe(0);
      expect(await staging.getByRole('button', { name: /^Reject/ }).count()).toBe(0);
      await staging.context().close();

      const prod = await signedIn(people['prod@x']!);
      await prod.goto(`${target.url}/ui/model?name=fraud-detector`);
      // The model page as its production manager sees it: the open request with Approve and Reject.
      if (opts.screenshots) await prod.screenshot({ path: `${opts.screenshots}/model.png`, fullPage: true });
      await prod.getByRole('button', { name: /^Approve version 1 to Production requested by member@x/ }).click();
      await prod.getByText('Request approved; the version was transitioned.').waitFor();
      const feed = await prod.locator('ul.feed').textContent();
      expect(feed).toContain('prod@x approved the transition of version 1: Staging → Production');
      expect(feed).toContain('member@x requested a transition of version 1: Staging → Production');
      expect(feed).toContain('Validated on March data');
      expect(await prod.getByText('None.').count()).toBeGreaterThan(0);
      expect(await prod.locator('#snippet').textContent()).toContain('models:/fraud-detector/Production');
      await prod.getByLabel('Comment', { exact: true }).fill('Rolled out to 10% of traffic');
      await prod.getByRole('button', { name: 'Add comment' }).click();
      await prod.getByText('Comment added.').waitFor();
      await prod.context().close();
    }, 90_000);

    it('without JavaScript every form still works (sign-in, Add and Save in the dialog, a comment)', async () => {
      const page = await signedIn(people['owner@x']!, false);
      await page.goto(`${target.url}/ui/permissions?model=churn`);
      await page.getByLabel('User, group or service principal').selectOption({ label: 'outsider@x' });
      await page.getByLabel('Permission', { exact: true }).selectOption({ label: 'Can Edit' });
      await page.getByRole('button', { name: 'Add', exact: true }).click();
      await page.getByText('Unsaved changes').waitFor();
      await page.getByRole('button', { name: 'Save', exact: true }).click();
      await page.getByText('Permissions saved.').waitFor();
      expect(await page.getByRole('row', { name: /outsider@x\s*User\s*Can Edit/ }).count()).toBe(1);
      await page.goto(`${target.url}/ui/model?name=fraud-detector`);
      await page.getByLabel('Comment', { exact: true }).fill('Checked without JavaScript');
      await page.getByRole('button', { name: 'Add comment' }).click();
      await page.getByText('Comment added.').waitFor();
      expect(await page.locator('ul.feed').textContent()).toContain('Checked without JavaScript');
      await page.context().close();
    }, 60_000);

    it('focus is visible when moving with the keyboard; the screenshots are taken', async () => {
      if (opts.screenshots) {
        // As a workspace admin: every model, and the registry-wide Permissions button.
        const admin = await signedIn({ id: '', name: 'admin', token: target.adminToken });
        expect(await admin.getByRole('link', { name: 'Permissions for all registered models' }).count()).toBe(1);
        await admin.setViewportSize({ width: 1200, height: 420 });
        await admin.screenshot({ path: `${opts.screenshots}/models.png`, fullPage: true });
        await admin.context().close();
      }
      const owner = await signedIn(people['owner@x']!);
      await owner.keyboard.press('Tab');
      await owner.keyboard.press('Tab');
      const outline = await owner.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
      expect(outline).toBe('solid');
      if (opts.screenshots) {
        for (const f of ['models', 'model', 'permission-settings']) expect(existsSync(`${opts.screenshots}/${f}.png`), f).toBe(true);
      }
      await owner.context().close();
    }, 60_000);
  });
}
