/**
 * The UI's only script (served at /ui/app.js), a progressive enhancement: pages work without it.
 * A region `[data-live-src]` is refreshed once a second from that URL, which answers with the
 * region's parts (`[data-live-part][id]`); each changed part replaces the one with its id. The
 * answer's `data-finished="true"` ends the polling and hides `[data-hide-when-finished]`.
 * A log panel scrolled to its end stays at its end (live tail).
 */
export const CLIENT_SCRIPT = `(() => {
  "use strict";
  const INTERVAL_MS = 1000;
  const atEnd = (el) => el.scrollHeight - el.scrollTop - el.clientHeight < 24;
  function finish() {
    for (const el of document.querySelectorAll("[data-hide-when-finished]")) el.hidden = true;
  }
  function apply(region, html) {
    const tpl = document.createElement("template");
    tpl.innerHTML = html;
    for (const part of tpl.content.querySelectorAll("[data-live-part][id]")) {
      const current = document.getElementById(part.id);
      if (!current || current.innerHTML === part.innerHTML) continue;
      const tail = current.querySelector("[data-tail]");
      const follow = tail ? atEnd(tail) : false;
      const focused = document.activeElement && current.contains(document.activeElement) ? document.activeElement.id : "";
      current.replaceWith(part);
      const next = part.querySelector("[data-tail]");
      if (next && follow) next.scrollTop = next.scrollHeight;
      if (focused) document.getElementById(focused)?.focus();
    }
    const root = tpl.content.querySelector("[data-finished]");
    return root ? root.getAttribute("data-finished") === "true" : false;
  }
  function poll(region) {
    const src = region.getAttribute("data-live-src");
    let stopped = false;
    const tick = async () => {
      if (stopped) return;
      if (!document.hidden) {
        try {
          const res = await fetch(src, { credentials: "same-origin", headers: { accept: "text/html" } });
          if (res.ok && apply(region, await res.text())) {
            stopped = true;
            region.setAttribute("data-live", "finished");
            finish();
            return;
          }
        } catch (e) {
          // The server may be restarting: try again on the next tick.
        }
      }
      setTimeout(tick, INTERVAL_MS);
    };
    setTimeout(tick, INTERVAL_MS);
  }
  function start() {
    for (const tail of document.querySelectorAll("[data-tail]")) tail.scrollTop = tail.scrollHeight;
    for (const region of document.querySelectorAll("[data-live-src]")) {
      if (region.getAttribute("data-live") === "on") poll(region);
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
`;
