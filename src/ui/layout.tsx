/** @jsxImportSource hono/jsx */
import type { Child, FC } from "hono/jsx";
import { formatTime, stateClass } from "./format.ts";

/** The page shell and the small pieces every page uses: navigation, state badges and dots. */

export type Section = "flows" | "flow-runs" | "agents" | "login" | "none";

export interface LayoutProps {
  title: string;
  section: Section;
  /** Show a "Log out" button (a token is set and the visitor is signed in with the cookie). */
  signedIn?: boolean;
  children?: Child;
}

const NAV: Array<{ section: Section; href: string; text: string }> = [
  { section: "flows", href: "/", text: "Flows" },
  { section: "flow-runs", href: "/flow-runs", text: "Flow runs" },
  { section: "agents", href: "/agents", text: "Agents" },
];

export const Layout: FC<LayoutProps> = ({ title, section, signedIn, children }) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <title>{`${title} · prefectlite`}</title>
      <link rel="stylesheet" href="/ui/app.css" />
      <script src="/ui/app.js" defer></script>
    </head>
    <body>
      <header class="top">
        <a class="brand" href="/">prefectlite</a>
        <nav aria-label="Main">
          {NAV.map((item) => (
            <a href={item.href} aria-current={item.section === section ? "page" : undefined}>
              {item.text}
            </a>
          ))}
        </nav>
        {signedIn ? (
          <form method="post" action="/logout">
            <button type="submit" class="secondary">Log out</button>
          </form>
        ) : null}
      </header>
      <main id="main">{children}</main>
    </body>
  </html>
);

/** A state as a coloured pill with its name (colour is never the only cue). */
export const StateBadge: FC<{ state: unknown }> = ({ state }) => (
  <span class={`badge ${stateClass(state)}`} data-state={String(state ?? "")}>
    {String(state ?? "—")}
  </span>
);

/** A run as a coloured dot linking to its page; the state and name are its accessible name. */
export const RunDot: FC<{ run: { id: unknown; name: unknown; state: unknown; created?: unknown } }> = ({ run }) => {
  const text = `${String(run.name)}: ${String(run.state)}${run.created ? `, ${formatTime(run.created)}` : ""}`;
  return (
    <a href={`/flow-run/${String(run.id)}`} class={`dot ${stateClass(run.state)}`} title={text} aria-label={text} data-state={String(run.state)}></a>
  );
};

export const Labels: FC<{ labels: readonly string[] }> = ({ labels }) =>
  labels.length ? (
    <span>
      {labels.map((l) => (
        <span class="label">{l}</span>
      ))}
    </span>
  ) : (
    <span class="muted">none</span>
  );

export const Time: FC<{ iso: unknown }> = ({ iso }) =>
  typeof iso === "string" ? <time datetime={iso}>{formatTime(iso)}</time> : <span class="muted">—</span>;

export const ErrorBox: FC<{ message: string | undefined }> = ({ message }) =>
  message ? (
    <div class="error" role="alert">
      {message}
    </div>
  ) : null;

export const Notice: FC<{ message: string | undefined }> = ({ message }) =>
  message ? (
    <div class="notice" role="status">
      {message}
    </div>
  ) : null;
