/**
 * The web UI in a real browser (Debian's chromium through playwright-core) against
 * `prefectlite serve` in its own process, with an API token: sign in, start a run from the form
 * and watch it reach Success (serve's agent executes it), its Gantt bars and `Hello World` log,
 * a schedule switched off and on, a running run cancelled, a bad JSON parameter refused.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import type { Page } from "playwright-core";
import { chromiumAvailable, CHROMIUM_MISSING, launchBrowser, type Browser } from "./ui-browser.ts";
import { startServe, type ServeProcess } from "./ui-server.ts";

const TOKEN = "browser-test-token";
/** Each step waits on a real agent and real processes; Bun's default of 5 s is too short for them. */
const STEP_MS = 60_000;
const available = chromiumAvailable();
if (!available) console.warn(CHROMIUM_MISSING);

describe.skipIf(!available)("the web UI in chromium", () => {
  let server: ServeProcess;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    server = await startServe({ token: TOKEN });
    browser = await launchBrowser();
  }, 60_000);

  // A fresh tab for each step (the sign-in cookie lives in the shared context), so nothing a
  // step leaves behind — a live-polling page, a navigation under way — reaches the next one.
  beforeEach(async () => {
    await page?.close();
    page = await browser.context.newPage();
    page.setDefaultTimeout(30_000);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop(); // serve waits for its agent's runs (none are left unless a step failed)
  }, STEP_MS);

  /** Open the flows page and follow the link of flow `name`. */
  async function openFlow(name: string): Promise<void> {
    await page.goto(`${server.url}/`);
    await page.getByRole("link", { name, exact: true }).click();
    await page.waitForURL(/\/flow\/[0-9a-f-]{36}$/);
  }

  /** A mark in the page's JS state: still there means the page was never reloaded. */
  const mark = () => page.evaluate(() => ((window as unknown as { __mark: number }).__mark = 1));
  const marked = () => page.evaluate(() => (window as unknown as { __mark?: number }).__mark === 1);

  test("a visitor without the token signs in with it", async () => {
    await page.goto(`${server.url}/flow-runs`);
    await page.waitForURL(/\/login\?next=/);
    await page.getByLabel("API token").fill("wrong");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("alert").textContent()).resolves.toContain("not the server's API token");
    await page.getByLabel("API token").fill(TOKEN);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`${server.url}/flow-runs`);
    expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe("Flow runs");
  }, STEP_MS);

  let helloRunUrl = "";

  test("start a run from the form and watch it reach Success without a reload", async () => {
    await openFlow("hello-world");
    await page.getByLabel("Run name").fill("from-the-browser");
    await page.getByRole("button", { name: "Run", exact: true }).click();
    await page.waitForURL(/\/flow-run\/[0-9a-f-]{36}$/);
    helloRunUrl = page.url();
    await mark();
    await page.locator('#run-card .badge[data-state="Success"]').waitFor();
    expect(await marked()).toBe(true);
    expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe("Flow run from-the-browser");
    await expect(page.locator("[data-hide-when-finished]").isHidden()).resolves.toBe(true);
  }, STEP_MS);

  test("its page, opened from its URL, shows the Gantt bars and the Hello World log", async () => {
    await page.goto(helloRunUrl);
    const bars = page.locator("svg.gantt rect.bar");
    expect(await bars.count()).toBe(3);
    expect(await bars.evaluateAll((els) => els.map((e) => e.getAttribute("data-state")))).toEqual(["Success", "Success", "Success"]);
    const box = await bars.first().boundingBox();
    expect(box!.width).toBeGreaterThan(0);
    await expect(page.locator("#run-logs").textContent()).resolves.toContain("| INFO    | Hello World");
  }, STEP_MS);

  test("the log level chosen on the form reaches the run: at ERROR its INFO lines are not logged", async () => {
    await openFlow("hello-world");
    await page.getByLabel("Log level").selectOption("ERROR");
    await page.getByRole("button", { name: "Run", exact: true }).click();
    await page.waitForURL(/\/flow-run\/[0-9a-f-]{36}$/);
    await page.locator('#run-card .badge[data-state="Success"]').waitFor();
    await page.reload();
    const logs = (await page.locator("#run-logs").textContent()) ?? "";
    expect(logs).toContain("Submitted for execution"); // the agent's line: the log panel works
    expect(logs).not.toContain("Hello World");
    expect(logs).not.toContain("Beginning Flow run");
  }, STEP_MS);

  test("toggle a schedule off and on", async () => {
    await openFlow("hourly");
    const status = page.locator("#schedule-status");
    await expect(status.textContent()).resolves.toContain("Schedule: on");
    await page.getByRole("button", { name: "Turn schedule off" }).click();
    await page.getByRole("button", { name: "Turn schedule on" }).waitFor();
    await expect(status.textContent()).resolves.toContain("Schedule: off");
    await page.getByRole("button", { name: "Turn schedule on" }).click();
    await page.getByRole("button", { name: "Turn schedule off" }).waitFor();
    await expect(status.textContent()).resolves.toContain("Schedule: on");
  }, STEP_MS);

  test("cancel a running run", async () => {
    await openFlow("slow");
    await page.getByRole("button", { name: "Run", exact: true }).click();
    await page.waitForURL(/\/flow-run\/[0-9a-f-]{36}$/);
    await page.locator('#run-card .badge[data-state="Running"]').waitFor();
    await page.locator('#run-timeline rect.bar[data-state="Running"]').waitFor();
    await page.getByRole("button", { name: "Cancel this run" }).click();
    await page.waitForURL(/\/flow-run\/[0-9a-f-]{36}\?cancelled$/);
    await page.waitForLoadState();
    // The page says what the cancel did: done already, or its process still stopping.
    await expect(page.getByRole("status").filter({ hasText: /Flow run [0-9a-f-]{36} (cancelled: \d+ task runs? completed|is Cancelling: )/ }).count()).resolves.toBe(1);
    await mark();
    await page.locator('#run-card .badge[data-state="Cancelled"]').waitFor();
    expect(await marked()).toBe(true);
    await expect(page.locator("#run-task-runs").textContent()).resolves.toContain("Cancelled");
  }, STEP_MS);

  /**
   * Fill the Run form's parameters and submit it, returning the status of the form's POST: a
   * failure then says what the server answered instead of only "no alert appeared".
   */
  async function submitParameters(text: string): Promise<number> {
    const field = page.getByLabel("Parameters (JSON object)");
    await field.fill(text);
    expect(await field.inputValue()).toBe(text);
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === "POST" && /\/flow\/[0-9a-f-]{36}\/run$/.test(r.url())),
      page.getByRole("button", { name: "Run", exact: true }).click(),
    ]);
    await page.waitForLoadState();
    return response.status();
  }

  test("a bad JSON parameter is shown as a form error", async () => {
    await openFlow("hello-world");
    const flowUrl = page.url();
    expect(await submitParameters('{"name": ')).toBe(422);
    await expect(page.getByRole("alert").textContent()).resolves.toContain("Parameters are not valid JSON");
    expect(await page.getByLabel("Parameters (JSON object)").inputValue()).toBe('{"name": ');
    await page.goto(flowUrl);
    expect(await submitParameters('{"nmae": "typo"}')).toBe(422);
    await expect(page.getByRole("alert").textContent()).resolves.toContain("has no parameter 'nmae'");
  }, STEP_MS);

  test("the Run button is reachable with the keyboard", async () => {
    await openFlow("hello-world");
    await page.getByLabel("Parameters (JSON object)").focus();
    let reached = false;
    for (let i = 0; i < 20 && !reached; i++) {
      await page.keyboard.press("Tab");
      reached = await page.evaluate(() => document.activeElement?.textContent === "Run");
    }
    expect(reached).toBe(true);
  }, STEP_MS);
});
