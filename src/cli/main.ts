import { cac } from "cac";
import { PrefectliteError } from "../core/errors.ts";
import { useSha256Hex } from "../core/serialize.ts";
import { PREFECTLITE_VERSION } from "../core/version.ts";
import { writeStdout } from "../stdio.ts";
import { executeFlowRunCommand, quickExecuteArgv } from "./execute-argv.ts";
import { EXIT, exitCodeFor, printError } from "./exit.ts";
import { API_OPTION, helpWithoutInternals, JSON_OPTION, versionLine } from "./help.ts";
import { many, optionalString, parseJsonObject, parseLogLevelOption, parseParameters, parseWaitSeconds, wholeNumberOption } from "./options.ts";

/** The description of internal commands: --help leaves them out. */
const INTERNAL = "(internal) execute one backend flow run in this process";

type Options = Record<string, unknown>;
const EXEC_USAGE = "write prefectlite exec SCRIPT [ARGS…]: the script comes first, its own options after it";

/** What a command's definition chains; a command left out of the table chains into nothing. */
interface CommandChain {
  option(rawName: string, description: string, config?: { default?: unknown }): CommandChain;
  example(example: string): CommandChain;
  action(callback: (...args: unknown[]) => unknown): CommandChain;
}
const LEFT_OUT: CommandChain = { option: () => LEFT_OUT, example: () => LEFT_OUT, action: () => LEFT_OUT };

/**
 * Build the command table: every command, or only the one named `only` (cac builds each
 * option and parses argv once per command it knows: `prefectlite run …` needs `run` alone).
 * Each action imports its command module lazily, so `--help` opens no database.
 */
export function program(setExit: (code: number) => void, only?: string) {
  const cli = cac("prefectlite");
  const command = (rawName: string, description: string): CommandChain =>
    only === undefined || rawName.split(" ")[0] === only ? cli.command(rawName, description) : LEFT_OUT;
  // --api and --json belong to the commands that use them (API_OPTION, JSON_OPTION), so each
  // command's --help lists only flags that do something there.
  cli.option("-v, --version", "Print prefectlite's version and the Bun it runs on");

  const act = (fn: (options: Options, ...args: string[]) => Promise<number>) => async (...args: unknown[]) => {
    const options = args[args.length - 1] as Options;
    const positional = args.slice(0, -1).map((a) => (a === undefined ? "" : String(a))); // an optional argument left out is ""
    setExit(await fn(options, ...positional));
  };

  command("run", "Run a flow: locally from a file or module (-p/-m), or through the backend (--name/--id)")
    .option("-p, --path <path>", "Flow file to load and run locally (no backend)")
    .option("-m, --module <module>", "Module to load and run locally, e.g. prefectlite.hello_world")
    .option("-n, --name <flow>", "Flow name: picks among several flows in a file, or looks the flow up in the backend")
    .option("--id <id>", "Backend flow id (or flow group id) to create a run of")
    .option("--project <project>", "Project of --name in the backend")
    .option("--param <key=value>", "A parameter value: kept as text for a string parameter, else JSON if it parses; repeatable")
    .option("--params <json>", "Parameters as a JSON object (--param wins)")
    .option("--log-level <level>", "DEBUG, INFO, WARNING, ERROR or CRITICAL")
    .option("--label <label>", "Run label (backend); repeatable")
    .option("--run-name <name>", "Name of the flow run (backend)")
    .option("--context <json>", "Context JSON for the run (backend)")
    .option("--idempotency-key <key>", "Return the existing run created with this key (backend)")
    .option("--start-at <iso>", "Schedule the run for this time (backend)")
    .option("--start-in <duration>", "Schedule the run this far ahead, e.g. 5m (backend)")
    .option("-w, --watch", "Stream the run's states and logs until it finishes (backend)")
    .option("--execute", "Execute the run here, without an agent (backend)")
    .example("prefectlite run -m prefectlite.hello_world --param name=marvin")
    .example("prefectlite run -p flows/etl.ts --name etl --params '{\"n\": 3}'")
    .example("prefectlite run --name hello-world --watch")
    .option(...API_OPTION)
    .option(...JSON_OPTION)
    .action(
      act(async (o) => {
        const path = optionalString(o.path);
        const module = optionalString(o.module);
        if (path && module) throw new PrefectliteError("Usage", "give either -p PATH or -m MODULE, not both");
        const parameters = parseParameters(o.param, o.params);
        const logLevel = parseLogLevelOption(o.logLevel);
        if (path || module) {
          const { runLocal } = await import("./commands/run-local.ts");
          return runLocal({ path, module, name: optionalString(o.name), parameters, logLevel });
        }
        if (!o.name && !o.id) throw new PrefectliteError("Usage", "Received no options to look up the flow: give -p PATH, -m MODULE, --name FLOW or --id ID");
        if (o.name && o.id) throw new PrefectliteError("Usage", "give either --name or --id, not both");
        if (o.watch && o.execute) throw new PrefectliteError("Usage", "give either --watch or --execute, not both");
        const backendOptions = {
          name: optionalString(o.name),
          id: optionalString(o.id),
          project: optionalString(o.project),
          parameters,
          labels: o.label === undefined ? undefined : many(o.label),
          runName: optionalString(o.runName),
          context: o.context === undefined ? undefined : parseJsonObject(String(o.context), "--context"),
          idempotencyKey: optionalString(o.idempotencyKey),
          startAt: optionalString(o.startAt),
          startIn: optionalString(o.startIn),
          apiUrl: optionalString(o.api),
          json: o.json === true,
        };
        if (o.execute) {
          const { runExecute } = await import("./commands/run-execute.ts");
          return runExecute(backendOptions);
        }
        if (o.watch) {
          const { runWatch } = await import("./commands/run-watch.ts");
          return runWatch(backendOptions);
        }
        const { runBackend } = await import("./commands/run-backend.ts");
        return runBackend(backendOptions);
      }),
    );

  command("cancel <flow_run_id>", "Cancel a flow run: a running one is stopped by its runner, its unfinished task runs end Cancelled")
    .option("--wait <seconds>", "How long to wait for a running run to end Cancelled before saying where it is (0: do not wait)", { default: 3 })
    .example("prefectlite cancel 55955649-f2e7-4d43-938a-f5b08974bab9")
    .option(...API_OPTION)
    .option(...JSON_OPTION)
    .action(
      act(async (o, id) => {
        const { cancelFlowRun } = await import("./commands/cancel.ts");
        return cancelFlowRun({ id: id!, apiUrl: optionalString(o.api), json: o.json === true, waitSeconds: parseWaitSeconds(o.wait) });
      }),
    );

  command(
      "restart <flow_run_id>",
      "Run a Failed or Cancelled flow run again from its failures: task runs that succeeded keep their states and results, the others and everything downstream of them run again",
    )
    .option("--execute", "Execute the restarted run here, without an agent (exit code as run --execute); without it an agent takes the run")
    .option(...API_OPTION)
    .option(...JSON_OPTION)
    .example("prefectlite restart 55955649-f2e7-4d43-938a-f5b08974bab9")
    .example("prefectlite restart 55955649-f2e7-4d43-938a-f5b08974bab9 --execute")
    .action(
      act(async (o, id) => {
        const { restartFlowRun } = await import("./commands/restart.ts");
        return restartFlowRun({ id: id!, execute: o.execute === true, apiUrl: optionalString(o.api), json: o.json === true });
      }),
    );

  // Internal: the child process agents and `run --execute` start (left out of --help).
  command("execute <what> [flow_run_id]", INTERNAL)
    .option("--print-logs", "Print log lines and state changes to stdout")
    .option("--log-level <level>", "DEBUG, INFO, WARNING, ERROR or CRITICAL")
    .option("--wait-for-id", "Load and connect first, then execute each run whose id arrives on stdin, a line each (an agent's warm child)")
    .option(...API_OPTION)
    .action(act((options, what, id) => executeFlowRunCommand({ what: what!, id: id!, options })));

  command("create <kind> <name>", "Create a project: prefectlite create project NAME")
    .option("--description <text>", "Project description")
    .option(...API_OPTION)
    .option(...JSON_OPTION)
    .action(
      act(async (o, kind, name) => {
        if (kind !== "project") throw new PrefectliteError("Usage", `can only create a project (got '${kind}')`);
        const { createProject } = await import("./commands/create-project.ts");
        return createProject({ name: name!, description: optionalString(o.description), apiUrl: optionalString(o.api), json: o.json === true });
      }),
    );

  command("register", "Register flows from files, folders or modules with the backend")
    .option("-p, --path <path>", "Flow file, or folder of .ts flow files; repeatable")
    .option("-m, --module <module>", "Module to load flows from; repeatable")
    .option("--project <project>", "Project to register into (required)")
    .option("-n, --name <flow>", "Only register flows with this name; repeatable")
    .option("-l, --label <label>", "Label added to each flow's run config; repeatable")
    .option("-f, --force", "Register a new version even if nothing changed")
    .option("--no-schedule", "Do not activate the flows' schedules")
    .option("--watch", "Keep running and re-register files as they change (-p paths only)")
    .option("--archive-deleted", "With --watch: archive the flows of a deleted file")
    .example("prefectlite register -p flows/ --project default")
    .option(...API_OPTION)
    .option(...JSON_OPTION)
    .action(
      act(async (o) => {
        const project = optionalString(o.project);
        if (!project) throw new PrefectliteError("Usage", "register needs --project P");
        const { register } = await import("./commands/register.ts");
        return register({
          paths: many(o.path),
          modules: many(o.module),
          project,
          names: many(o.name),
          labels: many(o.label),
          force: o.force === true,
          schedule: o.schedule !== false,
          watch: o.watch === true,
          archiveDeleted: o.archiveDeleted === true,
          apiUrl: optionalString(o.api),
          json: o.json === true,
        });
      }),
    );

  command("get <what>", "List projects | flows | flow-runs | task-runs | logs as a table (or --json)")
    .option("--project <project>", "Only this project's records")
    .option("--flow <name>", "Only this flow's records")
    .option("--flow-run <id>", "task-runs, logs: the flow run (required)")
    .option("--state <state>", "flow-runs, task-runs: only runs in this state (e.g. Running)")
    .option("--level <level>", "logs: only lines at or above DEBUG, INFO, WARNING, ERROR or CRITICAL")
    .option("--follow", "logs: keep printing new lines until the run finishes")
    .option("--limit <n>", "At most this many rows (logs: all lines)", { default: 50 })
    .option("--all", "flows: include archived versions")
    .example("prefectlite get logs --flow-run 55955649-f2e7-4d43-938a-f5b08974bab9 --follow")
    .option(...API_OPTION)
    .option(...JSON_OPTION)
    .action(
      act(async (o, what) => {
        const limit = wholeNumberOption(o.limit, "--limit", 1);
        const { get } = await import("./commands/get.ts");
        return get({
          what: what!,
          apiUrl: optionalString(o.api),
          json: o.json === true,
          project: optionalString(o.project),
          flow: optionalString(o.flow),
          state: optionalString(o.state),
          limit,
          all: o.all === true,
          flowRun: optionalString(o.flowRun),
          level: optionalString(o.level),
          follow: o.follow === true,
        });
      }),
    );

  command("inspect <what> <id>", "Show a flow run: its card, state history and task runs (inspect flow-run ID)")
    .example("prefectlite inspect flow-run 55955649-f2e7-4d43-938a-f5b08974bab9")
    .option(...API_OPTION)
    .option(...JSON_OPTION)
    .action(
      act(async (o, what, id) => {
        const { inspect } = await import("./commands/inspect.ts");
        return inspect({ what: what!, id: id!, apiUrl: optionalString(o.api), json: o.json === true });
      }),
    );

  command("agent <action>", "A standalone agent: prefectlite agent start [--label L]… [--concurrency N] [--name N]")
    .option("-l, --label <label>", "Take runs whose labels are all among these; repeatable (none: only unlabeled runs)")
    .option("--concurrency <n>", "Most flow runs executing at once", { default: 10 })
    .option("--name <name>", "Agent name (the logger name of its run logs)", { default: "agent" })
    .option("--show-flow-logs", "Pass the flow-run processes' output through")
    .option("--runs-per-process <n>", "Runs a flow-run process executes one after another (default 1, or PREFECTLITE_AGENT_RUNS_PER_PROCESS: a process per run); a flow's run config reuseProcess decides for its runs")
    .example("prefectlite agent start --label gpu --concurrency 4")
    .example("prefectlite agent start --runs-per-process 100")
    .option(...API_OPTION)
    .action(
      act(async (o, action) => {
        if (action !== "start") throw new PrefectliteError("Usage", `unknown agent action '${action}': use prefectlite agent start`);
        const { agentStart } = await import("./commands/agent.ts");
        return agentStart({
          labels: many(o.label),
          concurrency: wholeNumberOption(o.concurrency, "--concurrency", 1),
          name: String(o.name),
          apiUrl: optionalString(o.api),
          showFlowLogs: o.showFlowLogs === true,
          runsPerProcess: o.runsPerProcess === undefined ? undefined : wholeNumberOption(o.runsPerProcess, "--runs-per-process", 1),
        });
      }),
    );

  command("serve", "Run the backend: GraphQL API at /graphql, /health, on the embedded database")
    .option("--host <host>", "Address to bind (anything but loopback needs PREFECTLITE_API_TOKEN)", { default: "127.0.0.1" })
    .option("--port <port>", "Port (0 picks a free one)", { default: 4200 })
    .option("--watch <dir>", "Register the flow files of this folder, and re-register them as they change")
    .option("--project <project>", "Project for --watch registrations", { default: "default" })
    .option("--no-scheduler", "Do not run the scheduler loop")
    .option("--no-agent", "Do not run the in-process agent (runs wait for an `agent start` elsewhere)")
    .option("--runs-per-process <n>", "Runs each of the in-process agent's flow-run processes executes one after another (default 1, or PREFECTLITE_AGENT_RUNS_PER_PROCESS)")
    .option("--archive-deleted", "With --watch: archive the flows of a deleted file (default: keep them)")
    .option("--database <url>", "The database: sqlite:PATH (or a file path) or postgres://user[:password]@host[:port]/db (default: PREFECTLITE_DATABASE_URL, else $PREFECTLITE_HOME/prefectlite.db)")
    .option("--no-migrate", "Do not migrate the database: refuse one whose schema is behind this prefectlite (run `prefectlite db migrate` first)")
    .example("prefectlite serve --watch flows --project default")
    .example("prefectlite serve --database postgres://prefect@db.internal:5432/prefect --no-migrate")
    .action(
      act(async (o) => {
        const { serveCommand } = await import("./commands/serve.ts");
        return serveCommand({
          host: String(o.host),
          port: wholeNumberOption(o.port, "--port", 0, 65535),
          databaseUrl: optionalString(o.database),
          migrate: o.migrate !== false,
          watchDir: optionalString(o.watch),
          project: String(o.project),
          scheduler: o.scheduler !== false,
          agent: o.agent !== false,
          agentRunsPerProcess: o.runsPerProcess === undefined ? undefined : wholeNumberOption(o.runsPerProcess, "--runs-per-process", 1),
          archiveDeleted: o.archiveDeleted === true,
        });
      }),
    );

  command("db <action>", "Database administration: prefectlite db migrate [--database URL] brings the schema up to date")
    .option("--database <url>", "The database: sqlite:PATH (or a file path) or postgres://user[:password]@host[:port]/db (default: PREFECTLITE_DATABASE_URL, else $PREFECTLITE_HOME/prefectlite.db)")
    .option(...JSON_OPTION)
    .example("prefectlite db migrate --database postgres://prefect@db.internal:5432/prefect")
    .action(
      act(async (o, action) => {
        const { dbCommand } = await import("./commands/db.ts");
        return dbCommand(action!, { database: optionalString(o.database), json: o.json === true });
      }),
    );

  // `main` runs `exec SCRIPT ARGS…` itself (cac would take the script's --flags); this entry is for --help.
  command("exec <script> [...args]", "Run a script that imports \"prefectlite\" (views, Client, flows) on this prefectlite's Bun and SDK, no install needed; ARGS become its process.argv")
    .example("prefectlite exec probe.ts 8b17ffed-c70e-4a20-a3b4-efb2eebba9e9")
    .action(() => {
      throw new PrefectliteError("Usage", EXEC_USAGE);
    });

  cli.help((sections) => helpWithoutInternals(sections, INTERNAL, PREFECTLITE_VERSION));
  return cli;
}

function printVersion(): number {
  writeStdout(`${versionLine(PREFECTLITE_VERSION)}\n`);
  return EXIT.ok;
}

/**
 * Run the CLI with `argv` (as process.argv) and return the exit code, or undefined when a user
 * script (`exec`) now owns the process and ends it itself.
 */
export async function main(argv: string[]): Promise<number | undefined> {
  let exitCode: number = EXIT.ok;
  const setExit = (code: number) => (exitCode = code);
  useSha256Hex((text) => new Bun.CryptoHasher("sha256").update(text).digest("hex"));
  try {
    if (argv[2] === "exec" && argv[3] && !argv[3].startsWith("-")) {
      const { execScript } = await import("./commands/exec.ts");
      return await execScript(argv[3], argv.slice(4));
    }
    // exec has no options of its own: anything before the script is meant for the script.
    if (argv[2] === "exec" && argv[3]?.startsWith("-") && argv[3] !== "-h" && argv[3] !== "--help") throw new PrefectliteError("Usage", EXEC_USAGE);
    // The child process of every run, and `--version`, without cac (as cac would read them).
    const execute = quickExecuteArgv(argv);
    if (execute) return await executeFlowRunCommand(execute);
    if (argv.length === 3 && (argv[2] === "--version" || argv[2] === "-v")) return printVersion();
    // The command cac will match is argv[2] when that names one; otherwise (a flag first, a
    // typo, nothing) every command is there, for the global help and the errors.
    let cli = program(setExit, argv[2]);
    if (cli.commands.length === 0) cli = program(setExit);
    cli.parse(argv, { run: false });
    if (cli.options.help) return EXIT.ok;
    if (cli.options.version) return printVersion();
    if (!cli.matchedCommand) {
      if (cli.args.length) throw new PrefectliteError("Usage", `unknown command '${cli.args[0]}': see prefectlite --help`);
      cli.outputHelp();
      return EXIT.ok;
    }
    await cli.runMatchedCommand();
    return exitCode;
  } catch (e) {
    printError(e);
    return exitCodeFor(e);
  }
}
