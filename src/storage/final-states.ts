import { STATE_TYPES, isFinalType } from "../core/state.ts";

/** The final states (core's isFinalType) as an SQL list: a task run in none of them is unfinished (Looped is not final). */
export const FINAL_STATES_SQL = `(${STATE_TYPES.filter(isFinalType).map((t) => `'${t}'`).join(", ")})`;
