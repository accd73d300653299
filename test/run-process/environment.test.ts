import { describe, expect, test } from "bun:test";
import { backendEnvironment, flowRunProcessEnv } from "../../src/run-process/environment.ts";

describe("the environment of a flow run's process", () => {
  test("the parent's, the run config's, then where the backend is, which wins", () => {
    const warnings: string[] = [];
    const env = flowRunProcessEnv(
      { PATH: "/bin", GREETING: "hi", PREFECTLITE_HOME: "/elsewhere" },
      { GREETING: "Howdy", RETRIES: 3, VERBOSE: true, PREFECTLITE_HOME: "/hijack", NODE_OPTIONS: "--require x" },
      { home: "/home/p" },
      (line) => warnings.push(line),
    );
    expect(env).toEqual({ PATH: "/bin", GREETING: "Howdy", RETRIES: "3", VERBOSE: "true", PREFECTLITE_HOME: "/home/p" });
    expect(warnings).toHaveLength(2);
    expect(warnings.join("\n")).not.toContain("--require x");
  });

  test("a child of the embedded database follows no server of the parent's, nor its token", () => {
    const env = flowRunProcessEnv({ PREFECTLITE_API_URL: "http://other", PREFECTLITE_API_TOKEN: "t" }, {}, { home: "/h" }, () => {});
    expect(env).toEqual({ PREFECTLITE_HOME: "/h" });
  });

  test("a child of a server gets its URL, and the token given with it (else the parent's)", () => {
    expect(backendEnvironment({ apiUrl: "http://s", token: "k" })).toEqual({ PREFECTLITE_API_URL: "http://s", PREFECTLITE_API_TOKEN: "k" });
    expect(flowRunProcessEnv({ PREFECTLITE_API_TOKEN: "parent" }, {}, { apiUrl: "http://s" }, () => {})).toEqual({
      PREFECTLITE_API_URL: "http://s",
      PREFECTLITE_API_TOKEN: "parent",
    });
  });
});
