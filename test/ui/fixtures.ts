/**
 * A real backend for the UI's tests: a database in a temp home with the project "default",
 * the built-in hello world, flows/map_reduce.ts, an hourly scheduled flow and a flow with a
 * required parameter registered, the server's Hono app over it,
 * and real backed runs (the engine executing in this process, as an agent would).
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import type { Hono } from "hono";
import { runBackedFlowRun } from "../../src/backed/flow-run-runner.ts";
import { BackendClient } from "../../src/client/client.ts";
import { registerFlow } from "../../src/client/register.ts";
import { loadFlowsFromFile, loadFlowsFromModule } from "../../src/loader/load.ts";
import { openBackend, type Backend } from "../../src/runtime/backend.ts";
import { embeddedBackend, openEmbeddedBackend } from "../../src/runtime/embedded-backend.ts";
import { createApp } from "../../src/server/app.ts";
import type { TokenThrottle } from "../../src/server/token-throttle.ts";
import { REPO_ROOT, tempDir } from "../helpers.ts";
import { sqlOn, type SqlRunner } from "../storage-helpers.ts";

export interface UiFixture {
  home: string;
  backend: Backend;
  client: BackendClient;
  app: Hono;
  helloId: string;
  mapReduceId: string;
  /** test/ui/flows/hourly.ts: an hourly schedule, registered inactive. */
  hourlyId: string;
  /** test/fixtures/flows/needs-param.ts: a required parameter `count`. */
  needsParamId: string;
  /** One SQL statement on the database, on a connection of its own (assertions): its rows. */
  sql: SqlRunner;
  /** The first row of one SQL statement (undefined when there is none). */
  one<T = Record<string, any>>(query: string, ...params: unknown[]): Promise<T>;
  /** Create a run through the services and execute it to its end here; returns its id. */
  executeRun(flowId: string, parameters?: Record<string, unknown>, labels?: string[]): Promise<string>;
  /** `app.request` with this server's own Origin on POSTs (as a browser on the UI would send). */
  request(path: string, init?: RequestInit): Promise<Response>;
  /** POST a form from the UI's own origin. */
  post(path: string, form: Record<string, string>, headers?: Record<string, string>): Promise<Response>;
  close(): Promise<void>;
}

export const ORIGIN = "http://localhost";

export async function openUiFixture(options: { token?: string; tokenThrottle?: TokenThrottle } = {}): Promise<UiFixture> {
  const home = tempDir("prefectlite-ui-");
  const url = `sqlite:${join(home, "prefectlite.db")}`;
  const backend = await openBackend(url);
  const raw = sqlOn(url);
  const client = new BackendClient(embeddedBackend(backend));
  await client.createProject("default");
  const hello = (await loadFlowsFromModule("prefectlite.hello_world")).flows[0]!;
  const mapReduce = (await loadFlowsFromFile(join(REPO_ROOT, "flows/map_reduce.ts"))).flows[0]!;
  const helloId = (await registerFlow(client, hello, "default")).id;
  const mapReduceId = (await registerFlow(client, mapReduce, "default")).id;
  const hourly = (await loadFlowsFromFile(join(import.meta.dir, "flows/hourly.ts"))).flows[0]!;
  const hourlyId = (await registerFlow(client, hourly, "default", { setScheduleActive: false })).id;
  const needsParam = (await loadFlowsFromFile(join(REPO_ROOT, "test/fixtures/flows/needs-param.ts"))).flows[0]!;
  const needsParamId = (await registerFlow(client, needsParam, "default")).id;
  const app = createApp({ schema: await backend.schema(), contextFactory: (info) => backend.context(info.agentId), token: options.token, tokenThrottle: options.tokenThrottle });
  const request = (path: string, init: RequestInit = {}) => Promise.resolve(app.request(path, init));
  return {
    home,
    backend,
    client,
    app,
    helloId,
    mapReduceId,
    hourlyId,
    needsParamId,
    async executeRun(flowId, parameters = {}, labels) {
      const { id } = await backend.services.createFlowRun({ flowId, parameters, labels: labels ?? null });
      const outcome = await runBackedFlowRun(client, id, { resultsDir: join(home, "results"), heartbeatMs: 60_000 });
      if (outcome.status !== "finished") throw new Error(`run ${id} did not finish: ${outcome.status} ${outcome.message}`);
      return id;
    },
    sql: raw.sql,
    async one<T>(query: string, ...params: unknown[]) {
      return (await raw.sql<T>(query, params))[0] as T;
    },
    request,
    post(path, form, headers = {}) {
      return request(path, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN, ...headers },
        body: new URLSearchParams(form).toString(),
      });
    },
    async close() {
      raw.close();
      await backend.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}
