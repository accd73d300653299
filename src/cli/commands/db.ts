import { PrefectliteError } from "../../core/errors.ts";
import { migrateDatabaseAt } from "../../runtime/migrate-database.ts";
import { settings } from "../../settings.ts";
import { writeStdout } from "../../stdio.ts";
import { EXIT } from "../exit.ts";

/** `prefectlite db migrate [--database URL]`: the database brought to this binary's schema. */
export async function dbCommand(action: string, options: { database?: string; json: boolean }): Promise<number> {
  if (action !== "migrate") throw new PrefectliteError("Usage", `unknown db action '${action}': the one action is \`prefectlite db migrate --database URL\``);
  const report = await migrateDatabaseAt(options.database ?? settings.databaseUrl());
  if (options.json) writeStdout(`${JSON.stringify(report)}\n`);
  else if (report.applied.length === 0) writeStdout(`Database ${report.description} is up to date (schema ${report.version})\n`);
  else writeStdout(`Database ${report.description} migrated to schema ${report.version} (applied ${report.applied.join(", ")})\n`);
  return EXIT.ok;
}
