/**
 * A throwaway PostgreSQL cluster in a temp dir, from Debian's binaries (/usr/lib/postgresql/N/bin),
 * for tests and benchmarks. Never a system cluster.
 *
 *   bun scripts/pg-cluster.ts start [--durable]   prints the cluster's URL (stdout) and how to stop it (stderr)
 *   bun scripts/pg-cluster.ts stop DIR            stops it and deletes DIR
 *
 * Tests get correctness-only settings (fsync, synchronous_commit and full_page_writes off);
 * `--durable` keeps PostgreSQL's defaults, for benchmarks. As root, initdb and the server run as
 * the `postgres` user (PostgreSQL refuses root), in a dir made theirs.
 */
import { spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, appendFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface PgCluster {
  /** The temp dir holding the data dir (`data/`), the unix socket and the server log. */
  readonly dir: string;
  readonly port: number;
  /** `postgres://postgres@127.0.0.1:PORT/postgres` (trust authentication: no password). */
  readonly url: string;
  /** The bin dir of the PostgreSQL used. */
  readonly bin: string;
}

export interface StartClusterOptions {
  /** Keep PostgreSQL's durable defaults (benchmarks); default false (tests: fsync off). */
  durable?: boolean;
}

const DEBIAN_ROOT = "/usr/lib/postgresql";

/** The newest Debian PostgreSQL bin dir with initdb, or undefined when none is installed. */
export function findPostgresBin(): string | undefined {
  if (!existsSync(DEBIAN_ROOT)) return undefined;
  const versions = readdirSync(DEBIAN_ROOT)
    .filter((v) => existsSync(join(DEBIAN_ROOT, v, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length ? join(DEBIAN_ROOT, versions[0]!, "bin") : undefined;
}

const isRoot = () => process.getuid?.() === 0;

/** The postgres user's uid/gid (PostgreSQL refuses to run as root). */
function postgresUser(): { uid: number; gid: number } {
  const id = (flag: string) => {
    const out = spawnSync("id", [flag, "postgres"], { encoding: "utf8" });
    if (out.status !== 0) throw new Error("running as root, but there is no `postgres` user to run PostgreSQL as");
    return Number(out.stdout.trim());
  };
  return { uid: id("-u"), gid: id("-g") };
}

/** Run a PostgreSQL binary (as `postgres` when we are root); throws with its output on failure. */
function runPg(bin: string, program: string, args: string[]): string {
  const command = isRoot() ? ["runuser", "-u", "postgres", "--", join(bin, program), ...args] : [join(bin, program), ...args];
  const out = spawnSync(command[0]!, command.slice(1), { encoding: "utf8", cwd: "/" });
  if (out.status !== 0) throw new Error(`${program} failed (exit ${out.status}): ${(out.stderr || out.stdout).trim()}`);
  return out.stdout;
}

/** A port on 127.0.0.1 nobody listens on now (the server is started on it right after). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/** initdb into a fresh temp dir and start the server on 127.0.0.1 at a free port. */
export async function startCluster(options: StartClusterOptions = {}): Promise<PgCluster> {
  const bin = findPostgresBin();
  if (!bin) throw new Error(`no PostgreSQL binaries under ${DEBIAN_ROOT}/*/bin (apt-get install -y postgresql)`);
  const dir = mkdtempSync(join(tmpdir(), "prefectlite-pg-"));
  try {
    if (isRoot()) {
      const { uid, gid } = postgresUser();
      chownSync(dir, uid, gid);
    }
    const data = join(dir, "data");
    runPg(bin, "initdb", ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C"]);
    const settings = [
      "listen_addresses = '127.0.0.1'",
      `unix_socket_directories = '${dir}'`,
      "max_connections = 200",
      ...(options.durable ? [] : ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]),
    ];
    // Several tries: another process may take the free port between finding and binding it.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      appendFileSync(join(data, "postgresql.conf"), `\n# prefectlite's throwaway cluster\n${settings.join("\n")}\nport = ${port}\n`);
      try {
        runPg(bin, "pg_ctl", ["-D", data, "-l", join(dir, "server.log"), "-w", "-t", "60", "start"]);
        return { dir, port, bin, url: `postgres://postgres@127.0.0.1:${port}/postgres` };
      } catch (e) {
        if (attempt >= 3) throw e;
      }
    }
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** Stop the cluster in `dir` (fast shutdown: sessions are disconnected) and delete the dir. Synchronous, so it works in an exit handler. */
export function stopCluster(dir: string, mode: "fast" | "immediate" = "fast"): void {
  const data = join(dir, "data");
  try {
    if (existsSync(join(data, "postmaster.pid"))) {
      const bin = findPostgresBin();
      if (bin) runPg(bin, "pg_ctl", ["-D", data, "-m", mode, "-w", "-t", "60", "stop"]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A shell that stops the cluster when its stdin closes: when the process that started the
 * cluster ends in any way (a crash, SIGKILL included), no postgres is left running.
 * Returns the command to spawn with stdin a pipe the starter keeps open.
 */
export function stopOnParentExitCommand(cluster: PgCluster): string[] {
  const pgCtl = join(cluster.bin, "pg_ctl");
  const data = join(cluster.dir, "data");
  const stop = isRoot() ? `runuser -u postgres -- ${pgCtl} -D ${data} -m immediate -w stop` : `${pgCtl} -D ${data} -m immediate -w stop`;
  return ["sh", "-c", `cat >/dev/null; if [ -f ${data}/postmaster.pid ]; then ${stop} >/dev/null 2>&1; fi; rm -rf ${cluster.dir}`];
}

if (import.meta.main) {
  const [command, ...rest] = process.argv.slice(2);
  try {
    if (command === "start") {
      const cluster = await startCluster({ durable: rest.includes("--durable") });
      process.stdout.write(`${cluster.url}\n`);
      process.stderr.write(`PostgreSQL ${cluster.bin} in ${cluster.dir}; stop it with: bun scripts/pg-cluster.ts stop ${cluster.dir}\n`);
    } else if (command === "stop" && rest[0]) {
      if (!existsSync(join(rest[0], "data", "PG_VERSION"))) throw new Error(`${rest[0]} holds no cluster started by this script`);
      stopCluster(rest[0]);
    } else {
      process.stderr.write("usage: bun scripts/pg-cluster.ts start [--durable] | stop DIR\n");
      process.exit(2);
    }
  } catch (e) {
    process.stderr.write(`Error: ${(e as Error).message}\n`);
    process.exit(1);
  }
}
