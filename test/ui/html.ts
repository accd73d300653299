/** Small readers of rendered HTML for the UI's tests (no browser). */

/** The visible text: tags removed, entities decoded, whitespace collapsed. */
export function textOf(html: string): string {
  return html
    .replace(/<script[\s\S]*?<\/script>/g, " ")
    .replace(/<[^>]+>/g, " ")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&")
    .replace(/\s+/g, " ")
    .trim();
}

/** Every value of `attribute` on elements whose opening tag matches `tagPattern` (e.g. `rect class="bar`). */
export function attributeValues(html: string, tagPattern: string, attribute: string): string[] {
  const tags = html.match(new RegExp(`<${tagPattern}[^>]*>`, "g")) ?? [];
  return tags.map((t) => new RegExp(`\\s${attribute}="([^"]*)"`).exec(t)?.[1] ?? "");
}

/** The inner HTML of the element with this id (first match; elements of one tag name nest fine for our pages' divs). */
export function elementById(html: string, id: string): string {
  const start = html.indexOf(`id="${id}"`);
  if (start < 0) return "";
  const open = html.lastIndexOf("<", start);
  const tag = /^<(\w+)/.exec(html.slice(open))![1]!;
  let depth = 0;
  const re = new RegExp(`<${tag}[\\s>]|</${tag}>`, "g");
  re.lastIndex = open;
  for (let m = re.exec(html); m; m = re.exec(html)) {
    depth += m[0].startsWith("</") ? -1 : 1;
    if (depth === 0) return html.slice(html.indexOf(">", open) + 1, m.index);
  }
  return html.slice(open);
}
