import { cac } from "cac";
import { PrefectliteError } from "../core/errors.ts";
import { EXIT, exitCodeFor, printError } from "./exit.ts";
import { optionalString, parseLogLevelOption, parseParameters } from "./options.ts";

const VERSION = "0.1.0";

type Options = Record<string, unknown>;

/** Build the command table. Each action imports its command module lazily, so `--help` opens no database. */
function program(setExit: (code: number) => void) {
  const cli = cac("prefectlite");
  cli.option("--api <url>", "Server to talk to (default: PREFECTLITE_API_URL, else the embedded database)");
  cli.option("--json", "Print records as JSON");

  const act = (fn: (options: Options, ...args: string[]) => Promise<number>) => async (...args: unknown[]) => {
    const options = args[args.length - 1] as Options;
    const positional = args.slice(0, -1).map(String);
    setExit(await fn(options, ...positional));
  };

  cli
    .command("run", "Run a flow: locally from a file or module (-p/-m), or through the backend (--name/--id)")
    .option("-p, --path <path>", "Flow file to load and run locally (no backend)")
    .option("-m, --module <module>", "Module to load and run locally, e.g. prefectlite.hello_world")
    .option("-n, --name <flow>", "Flow name: picks among several flows in a file, or looks the flow up in the backend")
    .option("--id <id>", "Backend flow id (or flow group id) to create a run of")
    .option("--project <project>", "Project of --name in the backend")
    .option("--param <key=value>", "A parameter value (JSON if it parses, else a string); repeatable")
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
        throw new PrefectliteError("Usage", "running a registered flow needs the backend, which this build does not include yet");
      }),
    );

  cli.help();
  cli.version(VERSION);
  return cli;
}

/** Run the CLI with `argv` (as process.argv) and return the exit code. */
export async function main(argv: string[]): Promise<number> {
  let exitCode: number = EXIT.ok;
  const cli = program((code) => (exitCode = code));
  try {
    cli.parse(argv, { run: false });
    if (cli.options.help || cli.options.version) return EXIT.ok;
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
