/**
 * `npm run build:types` (and `prepack`): emit the SDK's .d.ts files into dist/types, which the
 * package's `exports` name as its types. The folder is emptied first so that no declaration of a
 * deleted source file ships.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..");

export async function buildTypes(): Promise<void> {
  rmSync(join(root, "dist/types"), { recursive: true, force: true });
  const tsc = Bun.spawn([join(root, "node_modules/.bin/tsc"), "-p", join(root, "tsconfig.types.json")], { cwd: root, stdout: "inherit", stderr: "inherit" });
  const code = await tsc.exited;
  if (code !== 0) throw new Error(`tsc could not emit the SDK's declarations (exit ${code})`);
}

if (import.meta.main) {
  try {
    await buildTypes();
  } catch (e) {
    process.stderr.write(`Error: ${(e as Error).message}\n`);
    process.exit(1);
  }
}
