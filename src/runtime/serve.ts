import { PrefectliteError, errorMessage } from "../core/errors.ts";
import { BackendClient } from "../client/client.ts";
import { registerFlow } from "../client/register.ts";
import { loadFlowsFromFile } from "../loader/load.ts";
import { requiresToken, startServer } from "../server/serve.ts";
import { settings } from "../settings.ts";
import { openBackend } from "./backend.ts";
import { EmbeddedTransport } from "./embedded-transport.ts";
import { expandFlowFiles } from "./flow-files.ts";

export interface ServeOptions {
  host: string;
  port: number;
  /** Folder of flow files to register at start (and, later, watch). */
  watchDir?: string;
  project: string;
  log?: (line: string) => void;
}

export interface RunningServer {
  url: string;
  stop(): Promise<void>;
}

/**
 * `prefectlite serve`: the API (and UI) on the embedded database, with the flows of `watchDir`
 * registered into `project`. Binding anything but loopback needs PREFECTLITE_API_TOKEN.
 */
export async function serve(options: ServeOptions): Promise<RunningServer> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const token = settings.apiToken();
  if (requiresToken(options.host) && !token) {
    throw new PrefectliteError("Usage", `binding ${options.host} exposes the API beyond this machine: set PREFECTLITE_API_TOKEN first`);
  }
  const backend = openBackend(settings.databasePath());
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer({
      host: options.host,
      port: options.port,
      token,
      schema: backend.schema,
      contextFactory: (info) => backend.context(info.agentId),
    });
  } catch (e) {
    backend.close();
    throw new PrefectliteError("Usage", `cannot listen on ${options.host}:${options.port}: ${errorMessage(e)}`);
  }
  log(`prefectlite server listening on ${server.url} (database ${settings.databasePath()})`);

  if (options.watchDir) {
    const client = new BackendClient(new EmbeddedTransport(backend, false));
    await client.createProject(options.project);
    for (const file of expandFlowFiles([options.watchDir])) {
      try {
        for (const flow of (await loadFlowsFromFile(file)).flows) {
          const outcome = await registerFlow(client, flow, options.project);
          log(`Registered '${flow.name}' from ${file}: ${outcome.status === "skipped" ? `unchanged (version ${outcome.version})` : `version ${outcome.version}`}`);
        }
      } catch (e) {
        log(`Could not register flows from ${file}: ${errorMessage(e)}`);
      }
    }
  }

  return {
    url: server.url,
    stop: async () => {
      await server.stop();
      backend.close();
    },
  };
}
