/**
 * `bun scripts/screenshots.ts`: the README's screenshots of the web UI (docs/ui/*.png), taken
 * in Debian's chromium from a real `prefectlite serve` whose runs are started from the UI's own
 * Run form and executed by serve's agent. Never run by `npm test`.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { chromiumAvailable, CHROMIUM_PATH, launchBrowser } from "../test/e2e/ui-browser.ts";
import { startServe } from "../test/e2e/ui-server.ts";

const OUT = join(import.meta.dir, "../docs/ui");

async function runFromForm(page: Page, base: string, flow: string, parameters?: string): Promise<string> {
  await page.goto(`${base}/`);
  await page.getByRole("link", { name: flow, exact: true }).click();
  await page.waitForURL(/\/flow\/[0-9a-f-]{36}$/);
  if (parameters) await page.getByLabel("Parameters (JSON object)").fill(parameters);
  await page.getByRole("button", { name: "Run", exact: true }).click();
  await page.waitForURL(/\/flow-run\/[0-9a-f-]{36}$/);
  return page.url();
}

async function main(): Promise<void> {
  if (!chromiumAvailable()) throw new Error(`${CHROMIUM_PATH} is missing: apt-get install -y chromium`);
  mkdirSync(OUT, { recursive: true });
  const server = await startServe();
  const browser = await launchBrowser({ viewport: { width: 1280, height: 800 } });
  try {
    const page = await browser.context.newPage();
    page.setDefaultTimeout(30_000);
    const shot = async (name: string) => {
      await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true });
      process.stderr.write(`  docs/ui/${name}.png\n`);
    };
    for (let i = 0; i < 3; i++) {
      await runFromForm(page, server.url, "hello-world");
      await page.locator('#run-card .badge[data-state="Success"]').waitFor();
    }
    const mapRun = await runFromForm(page, server.url, "map-reduce", '{"n": 12}');
    await page.locator('#run-card .badge[data-state="Success"]').waitFor();

    await runFromForm(page, server.url, "slow");
    await page.locator('#run-timeline rect.bar[data-state="Running"]').waitFor();
    await shot("flow-run-running");
    await page.getByRole("button", { name: "Cancel this run" }).click();
    await page.locator('#run-card .badge[data-state="Cancelled"]').waitFor();

    await page.goto(`${server.url}/`);
    await shot("flows");
    await page.getByRole("link", { name: "map-reduce", exact: true }).click();
    await shot("flow");
    await page.goto(`${server.url}/flow-runs`);
    await shot("flow-runs");
    await page.goto(mapRun);
    await shot("flow-run");
    await page.goto(`${server.url}/agents`);
    await shot("agents");
  } finally {
    await browser.close();
    await server.stop();
  }
}

if (import.meta.main) {
  await main().catch((e: Error) => {
    process.stderr.write(`screenshots: ${e.message}\n`);
    process.exit(1);
  });
}
