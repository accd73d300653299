import { describe, expect, test } from "bun:test";
import { flowRunProcessEnv } from "../../src/run-process/environment.ts";

describe("the database a flow run's process is given", () => {
  const warn = () => {};

  test("a child of the embedded database gets its database URL, whatever the parent's setting", () => {
    const env = flowRunProcessEnv({ PREFECTLITE_DATABASE_URL: "sqlite:/elsewhere.db" }, {}, { home: "/h", databaseUrl: "postgres://u:pw@db/prefect" }, warn);
    expect(env.PREFECTLITE_DATABASE_URL).toBe("postgres://u:pw@db/prefect");
    expect(env.PREFECTLITE_HOME).toBe("/h");
  });

  test("a child that reports over HTTP is not handed the parent's database URL (nor its password)", () => {
    const env = flowRunProcessEnv(
      { PREFECTLITE_DATABASE_URL: "postgres://u:pw@db/prefect", OTHER: "kept" },
      {},
      { home: "/h", databaseUrl: "postgres://u:pw@db/prefect", apiUrl: "http://lb:4200", token: "t" },
      warn,
    );
    expect(env.PREFECTLITE_DATABASE_URL).toBeUndefined();
    expect(env).toMatchObject({ PREFECTLITE_API_URL: "http://lb:4200", PREFECTLITE_API_TOKEN: "t", OTHER: "kept" });
  });
});
