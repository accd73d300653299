import { validationError } from "./errors.ts";
import { currentBuilder, type Handle } from "./graph.ts";
import { isParameterType, parameterTypeOf, parameterTypeProblem, PARAMETER_TYPES, type ParameterType, type ParameterValue } from "./parameter-types.ts";

export interface ParameterOptions<T> {
  default?: T;
  /** Default: true when there is no default. */
  required?: boolean;
  /**
   * The JSON type values must have: string, number, integer, boolean, object, array or any.
   * Default: the type of `default` (`default: 5` is a number), else any.
   */
  type?: ParameterType;
}

/** A run-time input of the flow; its slug is its name. */
export function Parameter<K extends ParameterType>(
  name: string,
  options: { type: K; default?: ParameterValue<K>; required?: boolean },
): Handle<ParameterValue<K>>;
export function Parameter<T = unknown>(name: string, options?: ParameterOptions<T> & { type?: undefined }): Handle<T>;
export function Parameter<T>(name: string, options: ParameterOptions<T> = {}): Handle<T> {
  if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(name)) {
    throw validationError(`invalid parameter name '${name}': use letters, digits, _ and -`);
  }
  const hasDefault = "default" in options && options.default !== undefined;
  const required = options.required ?? !hasDefault;
  const type = declaredType(name, options, hasDefault);
  return currentBuilder(`Parameter('${name}')`).addParameter(name, options.default, hasDefault, required, type) as Handle<T>;
}

function declaredType(name: string, options: ParameterOptions<unknown>, hasDefault: boolean): ParameterType {
  if (options.type === undefined) return hasDefault ? parameterTypeOf(options.default) : "any";
  if (!isParameterType(options.type)) {
    throw validationError(`parameter '${name}': type must be one of ${PARAMETER_TYPES.join(", ")} (got ${JSON.stringify(options.type)})`);
  }
  const problem = hasDefault && options.default !== null ? parameterTypeProblem(name, options.type, options.default) : null;
  if (problem) throw validationError(`the default of ${problem}`);
  return options.type;
}
