/**
 * Prefect's examples load `prefect.hello_world`; here the built-in module is
 * `prefectlite.hello_world`. The hint for a `-m` module that could not be loaded, or "".
 */
export function prefectModuleHint(module: string): string {
  const m = /^prefect([./])(.+)$/.exec(module);
  return m ? ` (did you mean prefectlite${m[1]}${m[2]}?)` : "";
}
