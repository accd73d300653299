#!/usr/bin/env node
/**
 * `prefectlite` as installed from npm: a launcher that runs on Node, finds the Bun executable of
 * the `bun` package this package depends on, and runs the CLI (src/main.ts) on it with the user's
 * arguments. No shell: arguments reach Bun exactly as given.
 */
import { spawn } from "node:child_process";
import { closeSync, openSync, readSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const main = join(here, "..", "src", "main.ts");
// Like the compiled binary, ignore a bunfig.toml (its preload would run) and a .env in the user's folder.
const bunOptions = [`--config=${join(here, "bunfig.toml")}`, "--no-env-file"];

/** The first bytes of an executable: ELF, Mach-O (both byte orders, and universal), or Windows PE. */
const EXECUTABLE_MAGIC = ["7f454c46", "cffaedfe", "feedfacf", "cafebabe", "4d5a"];

function isExecutable(path) {
  let fd;
  try {
    fd = openSync(path, "r");
    const head = Buffer.alloc(4);
    const read = readSync(fd, head, 0, 4, 0);
    const hex = head.subarray(0, read).toString("hex");
    return EXECUTABLE_MAGIC.some((magic) => hex.startsWith(magic));
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** npm names of the Bun builds for this machine (`bun` lists them all as optional dependencies). */
function platformPackages() {
  const os = { win32: "windows", android: "linux" }[process.platform] ?? process.platform;
  const arch = { arm64: "aarch64" }[process.arch] ?? process.arch;
  const base = `@oven/bun-${os}-${arch}`;
  if (process.platform === "android") return [`${base}-android`];
  if (process.platform === "linux") return [base, `${base}-musl`];
  return [base];
}

/**
 * Bun's postinstall moves its platform build over the placeholder bin/bun.exe. npm may not run
 * that script in a user's project, so the platform package's own executable is looked for too.
 * Returns the executable, or the one line that says what is missing and how to fix it.
 */
function findBun() {
  const require = createRequire(import.meta.url);
  let bunPackage;
  try {
    bunPackage = require.resolve("bun/package.json");
  } catch {
    return { error: "prefectlite cannot find its `bun` dependency: reinstall prefectlite (npm install prefectlite)" };
  }
  const candidates = [join(dirname(bunPackage), "bin", "bun.exe")];
  const fromBun = createRequire(bunPackage);
  for (const name of platformPackages()) {
    try {
      const executable = process.platform === "win32" ? "bun.exe" : "bun";
      candidates.push(join(dirname(fromBun.resolve(`${name}/package.json`)), "bin", executable));
    } catch {
      // not installed for this machine
    }
  }
  const found = candidates.find(isExecutable);
  if (found) return { bun: found };
  return {
    error:
      `prefectlite cannot find a Bun executable for ${process.platform}-${process.arch} (${platformPackages().join(" or ")} is not installed): ` +
      "reinstall prefectlite without --omit=optional/--no-optional, or run `node install.js` in node_modules/bun",
  };
}

const { bun, error } = findBun();
if (!bun) {
  process.stderr.write(`Error: ${error}\n`);
  process.exit(1);
}

const child = spawn(bun, [...bunOptions, main, ...process.argv.slice(2)], { stdio: "inherit" });

// Ctrl-C in a terminal reaches the whole foreground process group, Bun included; passing it on
// as well would deliver it twice (a second SIGINT means "stop now" to `agent start`). So SIGINT
// is forwarded only when not attached to a terminal, where it can only have been sent to us.
const forward = (signal) => {
  if (signal === "SIGINT" && process.stdin.isTTY) return;
  child.kill(signal);
};
const signals = ["SIGINT", "SIGTERM", "SIGHUP"];
for (const signal of signals) process.on(signal, forward);

child.on("error", (e) => {
  process.stderr.write(`Error: prefectlite could not start Bun (${bun}): ${e.message}\n`);
  process.exit(1);
});
child.on("exit", (code, signal) => {
  if (signal) {
    // Leave the way Bun did, so a shell sees the same signal.
    for (const s of signals) process.off(s, forward);
    process.kill(process.pid, signal);
    return;
  }
  process.exit(code ?? 1);
});
