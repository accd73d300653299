import { describe, expect, test } from "bun:test";
import { newId } from "../../src/services/ids.ts";

describe("new row ids", () => {
  test("are version-7 UUIDs that the UUID checks accept", async () => {
    for (let i = 0; i < 1000; i++) expect(newId()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  test("are unique and sort in the order they were made, even many in one millisecond", async () => {
    const ids = Array.from({ length: 20_000 }, newId);
    expect(new Set(ids).size).toBe(ids.length);
    for (let i = 1; i < ids.length; i++) expect(ids[i - 1]! < ids[i]!).toBe(true);
  });

  test("carry the time they were made", async () => {
    const before = Date.now();
    const id = newId();
    const ms = parseInt(id.replaceAll("-", "").slice(0, 12), 16);
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms).toBeLessThan(before + 60_000);
  });
});
