/** Small measuring tools for the benchmark sections: medians, child-process timing, the machine. */
import { cpus } from "node:os";
import { readFileSync } from "node:fs";

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Wall time in ms of running `command` to completion (output discarded); throws if it fails. */
export async function wallTime(command: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<number> {
  const started = performance.now();
  const proc = Bun.spawn(command, { cwd: options.cwd, env: options.env ?? process.env, stdout: "ignore", stderr: "pipe" });
  const [code, err] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
  const ms = performance.now() - started;
  if (code !== 0) throw new Error(`${command.join(" ")} exited ${code}: ${err.trim()}`);
  return ms;
}

/** Run `command` and parse the last line of its stdout as JSON. */
export async function jsonOf<T>(command: string[], options: { cwd?: string } = {}): Promise<T> {
  const proc = Bun.spawn(command, { cwd: options.cwd, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`${command.join(" ")} exited ${code}: ${err.trim()}`);
  return JSON.parse(out.trim().split("\n").at(-1)!) as T;
}

export interface Machine {
  cpuModel: string;
  nproc: number;
  memoryGb: number;
  bunVersion: string;
  os: string;
}

export function describeMachine(): Machine {
  let cpuModel = cpus()[0]?.model ?? "unknown";
  try {
    const line = readFileSync("/proc/cpuinfo", "utf8").split("\n").find((l) => l.startsWith("model name"));
    if (line) cpuModel = line.split(":")[1]!.trim();
  } catch {
    // not Linux: keep os.cpus()'s model
  }
  const memoryGb = Math.round((require("node:os").totalmem() / 2 ** 30) * 10) / 10;
  return { cpuModel, nproc: navigator.hardwareConcurrency, memoryGb, bunVersion: Bun.version, os: `${process.platform} ${process.arch}` };
}

export function machineLine(m: Machine): string {
  return `${m.cpuModel}, ${m.nproc} CPUs (nproc), ${m.memoryGb} GB RAM, ${m.os}, Bun ${m.bunVersion}`;
}

export const fmt = (n: number, digits = 1) => n.toFixed(digits);
