/**
 * Whether a value survives JSON unchanged, so that a persisted result reads back as what the task
 * returned. JSON.stringify silently turns a Map, a Set or an Error into `{}`, NaN and Infinity
 * into null, drops functions, and throws on a BigInt or a cycle with a message that names
 * neither the place nor the task.
 *
 * Kept: null, booleans, strings, finite numbers, arrays, plain objects, and objects with a
 * `toJSON` method (a Date becomes its ISO text, as JSON itself does), class instances by their own
 * enumerable properties (as JSON keeps them). An `undefined` property is
 * dropped (reading it back gives undefined again); `undefined` as the whole value is stored as
 * null. Refused: anything else, wherever it sits.
 */
export interface NotJson {
  /** What was found: "a Map", "NaN", "a function", "a circular reference", … */
  what: string;
  /** Where, inside the value: ".data", "[2].name", "" for the value itself. */
  path: string;
}

const MAX_DEPTH = 1000;

/** The first part of `value` JSON cannot keep, or undefined when it all can. */
export function findNonJson(value: unknown): NotJson | undefined {
  if (value === undefined || value === null) return undefined;
  const t = typeof value;
  if (t === "string" || t === "boolean") return undefined;
  if (t === "number") return Number.isFinite(value) ? undefined : { what: String(value), path: "" };
  return walk(value, "", [], 0);
}

/** `path` and a description as one phrase: "a Map at .data", "a BigInt (the value itself)". */
export function describeNonJson(found: NotJson): string {
  return found.path ? `${found.what} at ${found.path}` : `${found.what} (the value itself)`;
}

function walk(value: unknown, path: string, ancestors: object[], depth: number): NotJson | undefined {
  switch (typeof value) {
    case "string":
    case "boolean":
      return undefined;
    case "number":
      return Number.isFinite(value) ? undefined : { what: String(value), path };
    case "bigint":
      return { what: "a BigInt", path };
    case "function":
      return { what: "a function", path };
    case "symbol":
      return { what: "a symbol", path };
    case "undefined":
      return { what: "undefined", path };
  }
  if (value === null) return undefined;
  const object = value as object;
  if (depth > MAX_DEPTH) return { what: `a value nested deeper than ${MAX_DEPTH} levels`, path };
  if (ancestors.includes(object)) return { what: "a circular reference", path };
  if (typeof (object as { toJSON?: unknown }).toJSON === "function") {
    let replaced: unknown;
    try {
      replaced = (object as { toJSON: () => unknown }).toJSON();
    } catch (e) {
      return { what: `a value whose toJSON() throws (${e instanceof Error ? e.message : String(e)})`, path };
    }
    if (replaced === object) return undefined;
    ancestors.push(object);
    const found = replaced === undefined ? undefined : walk(replaced, path, ancestors, depth + 1);
    ancestors.pop();
    return found;
  }
  ancestors.push(object);
  try {
    if (Array.isArray(object)) {
      for (let i = 0; i < object.length; i++) {
        if (!(i in object)) return { what: "an empty slot", path: `${path}[${i}]` };
        const found = walk(object[i], `${path}[${i}]`, ancestors, depth + 1);
        if (found) return found;
      }
      return undefined;
    }
    if (LOST_BY_JSON.some((type) => object instanceof type)) return { what: describeInstance(object), path };
    for (const key of Object.keys(object)) {
      const child = (object as Record<string, unknown>)[key];
      if (child === undefined) continue; // dropped, and read back as undefined: nothing is lost
      const found = walk(child, path + keyPath(key), ancestors, depth + 1);
      if (found) return found;
    }
    return undefined;
  } finally {
    ancestors.pop();
  }
}

/**
 * Built-in objects JSON turns into `{}` (or an index-keyed object): their contents are lost.
 * Other class instances keep their own enumerable properties, as JSON keeps them (a view
 * returned by waitForFlowRun, for one), and those are checked like a plain object's.
 */
const LOST_BY_JSON: ReadonlyArray<abstract new (...args: never[]) => object> = [
  Map,
  Set,
  WeakMap,
  WeakSet,
  WeakRef,
  Promise,
  RegExp,
  Error,
  ArrayBuffer,
  SharedArrayBuffer,
  DataView,
  Object.getPrototypeOf(Uint8Array) as abstract new () => object, // every typed array
];

function describeInstance(object: object): string {
  const name = (object.constructor as { name?: unknown } | undefined)?.name;
  if (typeof name !== "string" || !name) return "an object with a prototype (not a plain object)";
  return `${/^[AEIO]/.test(name) ? "an" : "a"} ${name}`;
}

function keyPath(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}
