import { describe, expect, test } from "bun:test";
import { FORGET_AFTER_MS, FREE_FAILURES, keyOf, MAX_ADDRESSES, MAX_LOCKOUT_MS, TokenThrottle } from "../../src/server/token-throttle.ts";

function clocked() {
  let now = 1_000_000;
  const throttle = new TokenThrottle(() => now);
  return { throttle, advance: (ms: number) => (now += ms) };
}

describe("the wrong-token throttle", () => {
  test("the first wrong tokens are free; then each locks the address out twice as long, up to the cap", () => {
    const { throttle, advance } = clocked();
    for (let i = 0; i < FREE_FAILURES; i++) {
      expect(throttle.waitMs("10.0.0.1")).toBe(0);
      throttle.failed("10.0.0.1");
    }
    expect(throttle.waitMs("10.0.0.1")).toBe(0);
    const waits: number[] = [];
    for (let i = 0; i < 10; i++) {
      throttle.failed("10.0.0.1");
      waits.push(throttle.waitMs("10.0.0.1"));
      advance(waits.at(-1)!);
      expect(throttle.waitMs("10.0.0.1")).toBe(0);
    }
    expect(waits).toEqual([1000, 2000, 4000, 8000, 16000, 32000, MAX_LOCKOUT_MS, MAX_LOCKOUT_MS, MAX_LOCKOUT_MS, MAX_LOCKOUT_MS]);
    expect(throttle.waitMs("10.0.0.2")).toBe(0);
  });

  test("an address is forgotten a while after its last wrong token", () => {
    const { throttle, advance } = clocked();
    for (let i = 0; i <= FREE_FAILURES; i++) throttle.failed("10.0.0.1");
    expect(throttle.waitMs("10.0.0.1")).toBe(1000);
    advance(1000 + FORGET_AFTER_MS + 1);
    expect(throttle.waitMs("10.0.0.1")).toBe(0);
    throttle.failed("10.0.0.1");
    expect(throttle.waitMs("10.0.0.1")).toBe(0);
  });

  test("remembers at most MAX_ADDRESSES addresses, dropping the quietest", () => {
    const { throttle } = clocked();
    for (let i = 0; i <= FREE_FAILURES; i++) throttle.failed("victim-first");
    for (let i = 0; i < MAX_ADDRESSES + 5; i++) throttle.failed(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    expect(throttle.size).toBe(MAX_ADDRESSES);
    expect(throttle.waitMs("victim-first")).toBe(0);
  });

  test("IPv6 addresses count by their /64; IPv4-mapped ones as IPv4", () => {
    expect(keyOf("2001:db8:1:2:aaaa::1")).toBe("2001:db8:1:2::/64");
    expect(keyOf("2001:0db8:0001:0002:ffff:ffff:ffff:ffff")).toBe("2001:db8:1:2::/64");
    expect(keyOf("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(keyOf("::1")).toBe("0:0:0:0::/64");
    expect(keyOf("::ffff:192.168.1.9")).toBe("192.168.1.9");
    expect(keyOf("192.168.1.9")).toBe("192.168.1.9");
    const { throttle } = clocked();
    for (let i = 0; i <= FREE_FAILURES; i++) throttle.failed(`2001:db8:1:2::${i + 1}`);
    expect(throttle.waitMs("2001:db8:1:2:ffff::9")).toBe(1000);
    expect(throttle.waitMs("2001:db8:1:3::1")).toBe(0);
  });
});
