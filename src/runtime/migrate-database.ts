/** The operators' migration (`prefectlite db migrate`): storage does the work; commands reach it through the runtime. */
export { migrateDatabaseAt, type MigrationReport } from "../storage/migrate-database.ts";
