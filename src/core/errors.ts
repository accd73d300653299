/** Every user-facing failure is one of these codes; the CLI, GraphQL and HTTP map them once. */
export type ErrorCode =
  | "Usage"
  | "Validation"
  | "NotFound"
  | "Conflict"
  | "VersionConflict"
  | "FlowLoad"
  | "Unavailable"
  | "Internal";

export class PrefectliteError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "PrefectliteError";
    this.code = code;
  }
}

export const usageError = (message: string) => new PrefectliteError("Usage", message);
export const validationError = (message: string) => new PrefectliteError("Validation", message);
export const notFoundError = (message: string) => new PrefectliteError("NotFound", message);

export function isPrefectliteError(e: unknown): e is PrefectliteError {
  return e instanceof PrefectliteError;
}

/** The one-line text of any thrown value, for users. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message || e.name;
  if (typeof e === "string") return e;
  try {
    return JSON.stringify(e);
  } catch {
    return String(e);
  }
}
