/** @jsxImportSource hono/jsx */
import type { Context, Hono } from "hono";
import { isPrefectliteError } from "../core/errors.ts";
import { DEFAULT_TENANT } from "../core/tenant.ts";
import type { Services } from "../services/index.ts";
import type { ReadModel } from "../services/read-model.ts";
import { coverageOf, listAgents } from "./agents-data.ts";
import { cancelNotice, untilCancelSettled } from "./cancel-notice.ts";
import {
  clearToken,
  hasTokenCookie,
  NO_GUESS_LIMIT,
  requireAllowedOrigin,
  requireUiToken,
  safeNext,
  storeToken,
  tokenEquals,
  tooManyGuesses,
  type GuessLimit,
  type HostCheck,
} from "./auth.ts";
import { CLIENT_SCRIPT } from "./client-script.ts";
import { flowDetail, listProjectFlows } from "./flows-data.ts";
import { labelsOf } from "./format.ts";
import { AgentsPage } from "./pages/agents.tsx";
import { FlowRunPage, RunParts } from "./pages/flow-run.tsx";
import { FlowRunsPage } from "./pages/flow-runs.tsx";
import { FlowPage, type FlowPageProps } from "./pages/flow.tsx";
import { FlowsPage } from "./pages/flows.tsx";
import { LoginPage } from "./pages/login.tsx";
import { NotFoundPage } from "./pages/not-found.tsx";
import { readRunForm, submitRunForm, type RunConfigBase } from "./run-form.ts";
import { flowChoices, listRuns, parseLevel, parseRunFilters, runDetail } from "./runs-data.ts";
import { STYLES } from "./styles.ts";

/**
 * The web UI's routes, mounted on the server's Hono app: server-rendered pages over the read
 * model, forms that POST to the services, an embedded stylesheet and script. With a token set,
 * every page needs it (cookie from /login, or the bearer header), checked under the server's
 * guess limit; every POST must come from a page on one of the server's allowed hosts.
 */

export interface UiDeps {
  reads: ReadModel;
  services: Services;
}

export interface UiOptions {
  /** PREFECTLITE_API_TOKEN, when set. */
  token?: string | undefined;
  /** The read model and services for a request. */
  deps: (request: Request) => UiDeps;
  /** The hosts the server answers to: a form's Origin (else Referer) must be one. */
  allowedHost: HostCheck;
  /** The server's limit on token guessing (default: none). */
  guessLimit?: GuessLimit;
}

type Status = 200 | 400 | 403 | 404 | 409 | 422 | 429;

/** Render a page element as a full HTML document. */
function page(c: Context, element: unknown, status: Status = 200): Response {
  c.header("Cache-Control", "no-store");
  return c.html(`<!DOCTYPE html>${String(element)}`, status);
}

const asset = (body: string, type: string) => () =>
  new Response(body, { headers: { "content-type": `${type}; charset=utf-8`, "cache-control": "public, max-age=300" } });

/** A service failure a user can act on becomes a message; anything else is the server's 500. */
function userMessage(e: unknown): string {
  if (isPrefectliteError(e) && e.code !== "Internal") return e.message;
  throw e;
}

export async function mountUi(app: Hono, options: UiOptions): Promise<void> {
  const { token } = options;
  const guessLimit = options.guessLimit ?? NO_GUESS_LIMIT;
  const guard = requireUiToken(token, guessLimit);
  const requireSameOrigin = requireAllowedOrigin(options.allowedHost);
  const signedIn = (c: Context) => hasTokenCookie(c, token);
  const deps = (c: Context) => options.deps(c.req.raw);

  app.get("/ui/app.css", asset(STYLES, "text/css"));
  app.get("/ui/app.js", asset(CLIENT_SCRIPT, "text/javascript"));

  app.get("/login", (c) => (token ? page(c, <LoginPage next={safeNext(c.req.query("next"))} />) : c.redirect("/", 303)));
  app.post("/login", requireSameOrigin, async (c) => {
    const body = await c.req.parseBody();
    const next = safeNext(typeof body.next === "string" ? body.next : undefined);
    if (!token) return c.redirect(next, 303);
    const given = typeof body.token === "string" ? body.token : undefined;
    const waitMs = guessLimit.waitMs(c);
    if (waitMs > 0) {
      const { message, retryAfter } = tooManyGuesses(waitMs);
      c.header("Retry-After", retryAfter);
      return page(c, <LoginPage next={next} error={`${message[0]!.toUpperCase()}${message.slice(1)}.`} />, 429);
    }
    if (!tokenEquals(given, token)) {
      guessLimit.failed(c);
      return page(c, <LoginPage next={next} error="That is not the server's API token." />, 403);
    }
    storeToken(c, token);
    return c.redirect(next, 303);
  });
  app.post("/logout", requireSameOrigin, (c) => {
    clearToken(c);
    return c.redirect(token ? "/login" : "/", 303);
  });

  app.get("/", guard, async (c) => page(c, <FlowsPage projects={await listProjectFlows(deps(c).reads)} signedIn={signedIn(c)} />));

  const renderFlow = async (c: Context, id: string, extra: Partial<FlowPageProps> = {}, status: Status = 200) => {
    const detail = await flowDetail(deps(c).reads, id);
    if (!detail) return page(c, <NotFoundPage what={`No flow with id ${id}.`} signedIn={signedIn(c)} />, 404);
    return page(c, <FlowPage detail={detail} signedIn={signedIn(c)} {...extra} />, status);
  };
  app.get("/flow/:id", guard, (c) => renderFlow(c, c.req.param("id")));

  // After a refused Run form the address bar shows /flow/<id>/run: reloading it goes back to the flow.
  app.get("/flow/:id/run", guard, (c) => c.redirect(`/flow/${c.req.param("id")}`, 303));
  app.post("/flow/:id/run", guard, requireSameOrigin, async (c) => {
    const id = c.req.param("id");
    const { reads, services } = deps(c);
    const flow = await reads.byPk("flow", id, ["id", "run_config", "flow_group_id"]);
    if (!flow) return renderFlow(c, id);
    const group = await reads.byPk("flow_group", String(flow.flow_group_id), ["run_config"]);
    const runConfig = (group?.run_config ?? flow.run_config ?? null) as RunConfigBase | null;
    const values = readRunForm(await c.req.parseBody());
    const outcome = await submitRunForm(services, id, values, runConfig);
    if (outcome.ok) return c.redirect(`/flow-run/${outcome.flowRunId}`, 303);
    return renderFlow(c, id, { form: outcome.values, formError: outcome.error }, 422);
  });

  app.post("/flow/:id/schedule", guard, requireSameOrigin, async (c) => {
    const id = c.req.param("id");
    const body = await c.req.parseBody();
    const { services } = deps(c);
    try {
      const changed = body.active === "true" ? (await services.setScheduleActive({ flowId: id })) : (await services.setScheduleInactive({ flowId: id }));
      if (!changed) return renderFlow(c, id, { actionError: "This flow has no schedule." }, 409);
    } catch (e) {
      return renderFlow(c, id, { actionError: `The schedule was not changed: ${userMessage(e)}` }, 409);
    }
    return c.redirect(`/flow/${id}`, 303);
  });

  app.post("/flow/:id/settings", guard, requireSameOrigin, async (c) => {
    const id = c.req.param("id");
    const body = await c.req.parseBody();
    const setting = String(body.setting ?? "");
    try {
      await deps(c).services.setFlowGroupSetting(id, setting as never, body.enabled === "true");
    } catch (e) {
      return renderFlow(c, id, { actionError: `The setting was not changed: ${userMessage(e)}` }, 409);
    }
    return c.redirect(`/flow/${id}`, 303);
  });

  app.get("/flow-runs", guard, async (c) => {
    const { reads, services } = deps(c);
    const query = c.req.query();
    const { filters, problems } = parseRunFilters(query);
    const list = await listRuns(reads, filters);
    const flows = await flowChoices(reads);
    return page(
      c,
      <FlowRunsPage list={list} filters={filters} query={query} flows={flows} problems={problems} now={services.now()} signedIn={signedIn(c)} />,
    );
  });

  const runPage = async (c: Context, id: string, extra: { actionError?: string; notice?: string } = {}, status: Status = 200) => {
    const { reads, services } = deps(c);
    const level = parseLevel(c.req.query("level"));
    const detail = await runDetail(reads, id, level);
    if (!detail) return page(c, <NotFoundPage what={`No flow run with id ${id}.`} signedIn={signedIn(c)} />, 404);
    const now = services.now();
    // Back from the Cancel button: say what the cancel did.
    if (c.req.query("cancelled") !== undefined && !extra.notice) extra = { ...extra, notice: await cancelNotice(reads, id, now) };
    const coverage = coverageOf(await listAgents(reads, now), labelsOf(detail.run.labels));
    return page(c, <FlowRunPage detail={detail} coverage={coverage} now={now} level={level} signedIn={signedIn(c)} {...extra} />, status);
  };
  app.get("/flow-run/:id", guard, (c) => runPage(c, c.req.param("id")));

  app.get("/flow-run/:id/live", guard, async (c) => {
    const { reads, services } = deps(c);
    const detail = await runDetail(reads, c.req.param("id"), parseLevel(c.req.query("level")));
    if (!detail) return c.text("no such flow run", 404);
    const now = services.now();
    const coverage = coverageOf(await listAgents(reads, now), labelsOf(detail.run.labels));
    c.header("Cache-Control", "no-store");
    return c.html(String(<RunParts detail={detail} coverage={coverage} now={now} />));
  });

  app.post("/flow-run/:id/cancel", guard, requireSameOrigin, async (c) => {
    const id = c.req.param("id");
    const { reads, services } = deps(c);
    try {
      // A running run ends Cancelled once its process has stopped its work: wait a little for that.
      if ((await services.cancelFlowRun(id)).state === "Cancelling") await untilCancelSettled(reads, id);
    } catch (e) {
      return runPage(c, id, { actionError: `The run was not cancelled: ${userMessage(e)}` }, 409);
    }
    return c.redirect(`/flow-run/${id}?cancelled`, 303);
  });

  app.post("/flow-run/:id/restart", guard, requireSameOrigin, async (c) => {
    const id = c.req.param("id");
    try {
      await deps(c).services.restartFlowRun({ flowRunId: id, restartedBy: "the UI" });
    } catch (e) {
      return runPage(c, id, { actionError: `The run was not restarted: ${userMessage(e)}` }, 409);
    }
    return c.redirect(`/flow-run/${id}`, 303);
  });

  // Prefect's links (`Client.get_cloud_url`, with PREFECT__SERVER__UI__ENDPOINT at this server):
  // /<tenant slug>/<page>/<id>. A task run has no page of its own: it opens its flow run's.
  app.get(`/${DEFAULT_TENANT.slug}/:page/:id`, guard, async (c) => {
    const { page: kind, id } = c.req.param();
    if (kind === "flow" || kind === "flow-run") return c.redirect(`/${kind}/${encodeURIComponent(id)}`, 302);
    if (kind === "task-run") {
      const run = await deps(c).reads.byPk("task_run", id, ["flow_run_id"]);
      if (run) return c.redirect(`/flow-run/${run.flow_run_id}`, 302);
    }
    return page(c, <NotFoundPage what={`No ${kind} page for ${id}.`} signedIn={signedIn(c)} />, 404);
  });

  app.get("/agents", guard, async (c) => {
    const { reads, services } = deps(c);
    return page(c, <AgentsPage agents={await listAgents(reads, services.now())} signedIn={signedIn(c)} />);
  });
}
