import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadFlowsInChild } from "../../src/backed/flow-source-child.ts";
import { createFlowFileRegistrar } from "../../src/watcher/reregister.ts";
import { watchAndRegister } from "../../src/watcher/watch-and-register.ts";
import { openClient } from "./backend.ts";

const flowSource = (tasks: string[], comment = "") => `${comment}
import { Flow, task } from "prefectlite";
${tasks.map((t) => `const ${t} = task(function ${t}() { return "${t}"; });`).join("\n")}
export const flow = new Flow("watched", () => { ${tasks.map((t) => `${t}();`).join(" ")} });
`;

/** Each file is loaded by a child process (what serve does), with a short time limit. */
const loadFlowFile = (path: string) => loadFlowsInChild({ path }, { timeoutMs: 3000 });

async function setUp(options: { archiveDeleted?: boolean } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "prefectlite-rereg-"));
  const { client, sql } = await openClient();
  await client.createProject("dev");
  const lines: string[] = [];
  const outcomes: Array<[string, string | undefined]> = [];
  const registrar = createFlowFileRegistrar({
    client,
    project: "dev",
    log: (l) => lines.push(l),
    loadFlowFile,
    onLoadOutcome: (path, error) => outcomes.push([path, error]),
    ...options,
  });
  const versions = () => sql<{ version: number; archived: number }>("SELECT version, archived FROM flow WHERE name = 'watched' ORDER BY version");
  return { dir, client, sql, lines, outcomes, registrar, versions };
}

describe("re-registering flow files", () => {
  test("a new file registers; a changed flow registers a new version; a no-op edit or a touch registers nothing", async () => {
    const { dir, lines, registrar, versions } = await setUp();
    const file = join(dir, "watched.ts");
    writeFileSync(file, flowSource(["extract"]));
    await registrar.handle({ type: "added", path: file });
    expect(await versions()).toEqual([{ version: 1, archived: 0 }]);
    expect(lines.at(-1)).toMatch(/^Registered 'watched' from .*watched\.ts: version 1 \(/);

    writeFileSync(file, flowSource(["extract", "load"]));
    await registrar.handle({ type: "changed", path: file });
    expect(await versions()).toEqual([
      { version: 1, archived: 1 },
      { version: 2, archived: 0 },
    ]);

    writeFileSync(file, flowSource(["extract", "load"], "// a comment outside any task"));
    await registrar.handle({ type: "changed", path: file });
    await registrar.handle({ type: "changed", path: file }); // touched: same content
    expect(await versions()).toHaveLength(2);
    expect(lines.slice(-2)).toEqual([
      expect.stringMatching(/^'watched' from .*watched\.ts: unchanged \(version 2\)$/),
      expect.stringMatching(/^'watched' from .*watched\.ts: unchanged \(version 2\)$/),
    ]);
  });

  test("a broken edit logs one error line and leaves the live version in place", async () => {
    const { dir, lines, registrar, versions } = await setUp();
    const file = join(dir, "watched.ts");
    writeFileSync(file, flowSource(["extract"]));
    await registrar.handle({ type: "added", path: file });
    writeFileSync(file, flowSource(["extract"]).replace("export const flow", "export const flow = = "));
    await registrar.handle({ type: "changed", path: file });
    writeFileSync(file, `import { Flow } from "prefectlite";\nthrow new Error("boom at import");\n`);
    await registrar.handle({ type: "changed", path: file });
    expect(await versions()).toEqual([{ version: 1, archived: 0 }]);
    const errors = lines.filter((l) => l.startsWith("error:"));
    expect(errors).toHaveLength(2);
    expect(errors.every((l) => !l.includes("\n") && l.endsWith("(any version registered before stays live)"))).toBe(true);
    expect(errors[1]).toMatch(/boom at import/);
    // Fixing the file registers again as usual.
    writeFileSync(file, flowSource(["extract", "load"]));
    await registrar.handle({ type: "changed", path: file });
    expect((await versions()).map((v) => v.archived)).toEqual([1, 0]);
  });

  test("a file that exits, loops or hangs at import is one error line naming it, and the watching process goes on", async () => {
    const { dir, lines, outcomes, registrar, versions } = await setUp();
    const file = join(dir, "watched.ts");
    writeFileSync(file, flowSource(["extract"]));
    await registrar.handle({ type: "added", path: file });
    const cases: Array<[string, RegExp]> = [
      [`process.exit(0);\n${flowSource(["extract", "load"])}`, /exited with code 0 before reporting its flows/],
      [`while (true) {}\n${flowSource(["extract", "load"])}`, /timed out after 3 s/],
      [`await new Promise(() => setInterval(() => {}, 1000));\n${flowSource(["extract", "load"])}`, /timed out after 3 s/],
      [`process.exit(7);\n`, /exited with code 7/],
    ];
    for (const [source, expected] of cases) {
      writeFileSync(file, source);
      await registrar.handle({ type: "changed", path: file });
      const last = lines.at(-1)!;
      expect(last).toStartWith(`error: Loading '${file}'`);
      expect(last).toMatch(expected);
      expect(outcomes.at(-1)).toEqual([file, last.slice("error: ".length, -" (any version registered before stays live)".length)]);
    }
    expect(await versions()).toEqual([{ version: 1, archived: 0 }]);
    writeFileSync(file, flowSource(["extract", "load"]));
    await registrar.handle({ type: "changed", path: file });
    expect((await versions()).map((v) => v.version)).toEqual([1, 2]);
    expect(outcomes.at(-1)).toEqual([file, undefined]);
  });

  test("a deleted file archives nothing by default, and archives its flows with archiveDeleted", async () => {
    const keep = await setUp();
    const file = join(keep.dir, "watched.ts");
    writeFileSync(file, flowSource(["extract"]));
    await keep.registrar.handle({ type: "added", path: file });
    rmSync(file);
    await keep.registrar.handle({ type: "removed", path: file });
    expect(await keep.versions()).toEqual([{ version: 1, archived: 0 }]);
    expect(keep.lines.at(-1)).toMatch(/watched\.ts was deleted: its flows \('watched'\) stay registered/);

    const archive = await setUp({ archiveDeleted: true });
    const other = join(archive.dir, "watched.ts");
    writeFileSync(other, flowSource(["extract"]));
    await archive.registrar.handle({ type: "added", path: other });
    rmSync(other);
    await archive.registrar.handle({ type: "removed", path: other });
    expect(await archive.versions()).toEqual([{ version: 1, archived: 1 }]);
    expect(archive.lines.at(-1)).toMatch(/^Archived 'watched' \(version 1\): .*watched\.ts was deleted$/);
  });

  test("watchAndRegister registers the files there at start and then each edit, until aborted", async () => {
    const { dir, client, sql } = await setUp();
    writeFileSync(join(dir, "watched.ts"), flowSource(["extract"]));
    const lines: string[] = [];
    let onLine: (() => void) | undefined;
    const controller = new AbortController();
    let ready!: () => void;
    const isReady = new Promise<void>((r) => (ready = r));
    const done = watchAndRegister({
      client,
      project: "dev",
      paths: [dir],
      debounceMs: 50,
      signal: controller.signal,
      loadFlowFile,
      onReady: ready,
      log: (l) => (lines.push(l), onLine?.()),
    });
    const lineMatching = (re: RegExp) =>
      new Promise<void>((resolve, reject) => {
        const guard = setTimeout(() => reject(new Error(`no line matching ${re}: ${lines.join(" | ")}`)), 5000);
        const check = () => {
          if (lines.some((l) => re.test(l))) (clearTimeout(guard), resolve());
        };
        onLine = check;
        check();
      });
    await isReady;
    await lineMatching(/version 1/);
    writeFileSync(join(dir, "watched.ts"), flowSource(["extract", "load"]));
    await lineMatching(/version 2/);
    controller.abort();
    await done;
    expect(await sql("SELECT COUNT(*) AS n FROM flow WHERE archived = 0")).toEqual([{ n: 1 }]);
  });
});
