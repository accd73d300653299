import { validationError } from "./errors.ts";
import { currentBuilder, type Handle } from "./graph.ts";

export interface ParameterOptions<T> {
  default?: T;
  /** Default: true when there is no default. */
  required?: boolean;
}

/** A run-time input of the flow; its slug is its name. */
export function Parameter<T>(name: string, options: ParameterOptions<T> = {}): Handle<T> {
  if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(name)) {
    throw validationError(`invalid parameter name '${name}': use letters, digits, _ and -`);
  }
  const hasDefault = "default" in options && options.default !== undefined;
  const required = options.required ?? !hasDefault;
  return currentBuilder(`Parameter('${name}')`).addParameter(name, options.default, hasDefault, required) as Handle<T>;
}
