import { PrefectliteError } from "../core/errors.ts";
import { BackendClient } from "../client/client.ts";
import { Scheduler } from "../scheduler/scheduler.ts";
import { requiresToken, startServer } from "../server/serve.ts";
import { settings } from "../settings.ts";
import { watchAndRegister } from "../watcher/watch-and-register.ts";
import { openBackend, type Backend } from "./backend.ts";
import { EmbeddedTransport } from "./embedded-transport.ts";

export interface ServeOptions {
  host: string;
  port: number;
  /** Folder of flow files to register at start and re-register as they change. */
  watchDir?: string;
  project: string;
  scheduler?: boolean;
  /** Archive the flows of a deleted file (default: deleting a file archives nothing). */
  archiveDeleted?: boolean;
  log?: (line: string) => void;
}

export interface RunningServe {
  url: string;
  backend: Backend;
  scheduler: Scheduler | undefined;
  /** Resolves once `watchDir`'s files have been registered (immediately without one). */
  ready: Promise<void>;
  stop(): Promise<void>;
}

const clock = () => new Date().toTimeString().slice(0, 8);

/**
 * `prefectlite serve`: the API on the embedded database, the scheduler loop and the flow-file
 * watcher, under one AbortController. Binding anything but loopback needs PREFECTLITE_API_TOKEN.
 */
export async function serve(options: ServeOptions): Promise<RunningServe> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const token = settings.apiToken();
  if (requiresToken(options.host) && !token) {
    throw new PrefectliteError("Usage", `binding ${options.host} exposes the API beyond this machine: set PREFECTLITE_API_TOKEN first`);
  }
  const backend = openBackend(settings.databasePath());
  let server: ReturnType<typeof startServer>;
  try {
    server = startServer({
      host: options.host,
      port: options.port,
      token,
      schema: backend.schema,
      contextFactory: (info) => backend.context(info.agentId),
    });
  } catch (e) {
    backend.close();
    throw e;
  }
  log(`prefectlite server listening on ${server.url} (database ${settings.databasePath()})`);

  const controller = new AbortController();
  const loops: Promise<void>[] = [];
  const scheduler = options.scheduler === false ? undefined : new Scheduler(backend.services, { onError: log });
  if (scheduler) loops.push(scheduler.run(controller.signal));

  let ready: Promise<void> = Promise.resolve();
  if (options.watchDir) {
    const client = new BackendClient(new EmbeddedTransport(backend, false));
    await client.createProject(options.project);
    let markReady: () => void = () => {};
    ready = new Promise<void>((resolve) => (markReady = resolve));
    loops.push(
      watchAndRegister({
        client,
        project: options.project,
        paths: [options.watchDir],
        archiveDeleted: options.archiveDeleted,
        signal: controller.signal,
        log: (line) => log(`└── ${clock()} | ${line}`),
        onReady: () => {
          log(`Watching '${options.watchDir}' for flow changes (project '${options.project}')`);
          markReady();
        },
      }).catch((e) => log(`watcher stopped: ${(e as Error).message}`)),
    );
  }

  return {
    url: server.url,
    backend,
    scheduler,
    ready,
    stop: async () => {
      controller.abort();
      await Promise.all(loops);
      await server.stop();
      backend.close();
    },
  };
}
