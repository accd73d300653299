import pkg from "../../package.json" with { type: "json" };

/**
 * prefectlite's version: package.json's, read when the code is bundled (the compiled binary
 * carries the number, not the file) or loaded from source (the installed package ships it).
 */
export const PREFECTLITE_VERSION: string = pkg.version;
