/** What `--help` and `--version` print, beyond cac's own rendering. */

/** The flags of the commands that talk to a backend, and of those that print records. */
export const API_OPTION = ["--api <url>", "Server to talk to (default: PREFECTLITE_API_URL, else the embedded database)"] as const;
export const JSON_OPTION = ["--json", "Print records as JSON"] as const;

interface HelpSection {
  title?: string;
  body: string;
}

/**
 * cac's help, with three fixes: internal commands are left out; a `--no-x` flag does not read
 * "(default: true)" (cac's default for the value of x, which reads as if the flag were on); the
 * first line names the version (cac's version option is not used: see {@link versionLine}).
 */
export function helpWithoutInternals(sections: HelpSection[], internal: string, version: string): HelpSection[] {
  return sections.map((section, i) => {
    if (i === 0 && !section.title) return { ...section, body: `prefectlite/${version}` };
    const lines = section.body
      .split("\n")
      .filter((line) => !line.includes(internal) && !/\$ prefectlite execute /.test(line))
      .map((line) => (/^\s+--no-/.test(line) ? line.replace(/\s*\(default: true\)\s*$/, "") : line).trimEnd());
    return { ...section, body: lines.join("\n") };
  });
}

/** `prefectlite/0.1.0 bun/1.4.5 linux-x64`: cac would print Node's compatibility version for Bun. */
export function versionLine(version: string): string {
  return `prefectlite/${version} bun/${Bun.version} ${process.platform}-${process.arch}`;
}
