import { describe, expect, test } from "bun:test";
import { hostname } from "node:os";
import { AllowedHosts, parseHost } from "../../src/server/allowed-hosts.ts";

describe("the hosts a server answers to", () => {
  test("by default: the loopback names and the bound host, at the bound port only", () => {
    const hosts = AllowedHosts.forServer("127.0.0.1", 4200);
    for (const host of ["127.0.0.1:4200", "localhost:4200", "LOCALHOST:4200", "localhost.:4200", "[::1]:4200"]) expect(hosts.allows(host)).toBe(true);
    for (const host of ["evil.example:4200", "evil.example", "localhost:4201", "localhost", "127.0.0.2:4200", "", "localhost:4200/x", "a b:4200"]) {
      expect(hosts.allows(host)).toBe(false);
    }
    expect(hosts.allows(undefined)).toBe(false);
    expect(AllowedHosts.forServer("myhost.lan", 4200).allows("myhost.lan:4200")).toBe(true);
    expect(AllowedHosts.forServer("::1", 4200).allows("[::1]:4200")).toBe(true);
  });

  test("a Host without a port means port 80", () => {
    expect(AllowedHosts.forServer("127.0.0.1", 80).allows("localhost")).toBe(true);
    expect(AllowedHosts.loopbackDefaultPort().allows("127.0.0.1")).toBe(true);
  });

  test("PREFECTLITE_ALLOWED_HOSTS entries: with a port, only that port; without, every port", () => {
    const hosts = AllowedHosts.forServer("127.0.0.1", 4200, ["prefect.internal", "proxy.lan:8443", "[fd00::5]"]);
    expect(hosts.allows("prefect.internal:4200")).toBe(true);
    expect(hosts.allows("prefect.internal:9999")).toBe(true);
    expect(hosts.allows("prefect.internal")).toBe(true);
    expect(hosts.allows("proxy.lan:8443")).toBe(true);
    expect(hosts.allows("proxy.lan:4200")).toBe(false);
    expect(hosts.allows("[fd00::5]:1234")).toBe(true);
    expect(hosts.allows("sub.prefect.internal:4200")).toBe(false);
  });

  test("a malformed entry is refused with a line naming it", () => {
    for (const entry of ["http://x.example", "x.example/path", "x y", "x.example:99999", ":4200"]) {
      expect(() => AllowedHosts.forServer("127.0.0.1", 4200, [entry])).toThrow(`PREFECTLITE_ALLOWED_HOSTS: '${entry}' is not a host name`);
    }
  });

  test("a wildcard bind also answers to this machine's name and to IP literals, at the bound port", () => {
    for (const bind of ["0.0.0.0", "::", "[::]"]) {
      const hosts = AllowedHosts.forServer(bind, 4200);
      expect(hosts.allows(`${hostname()}:4200`)).toBe(true);
      expect(hosts.allows("192.168.1.5:4200")).toBe(true);
      expect(hosts.allows("[fe80::1]:4200")).toBe(true);
      expect(hosts.allows("192.168.1.5:8080")).toBe(false);
      expect(hosts.allows("evil.example:4200")).toBe(false);
      expect(hosts.allows("999.1.1.1:4200")).toBe(false);
    }
    expect(AllowedHosts.forServer("127.0.0.1", 4200).allows("192.168.1.5:4200")).toBe(false);
  });

  test("parseHost reads names, ports and IPv6 addresses", () => {
    expect(parseHost("Example.COM:0080")).toEqual({ name: "example.com", port: "80" });
    expect(parseHost("[::1]")).toEqual({ name: "[::1]", port: undefined });
    expect(parseHost("::1")).toEqual({ name: "[::1]", port: undefined });
    expect(parseHost("[::1]:4200")).toEqual({ name: "[::1]", port: "4200" });
    expect(parseHost("[evil]:4200")).toBeUndefined();
    expect(parseHost("x:")).toBeUndefined();
  });
});
