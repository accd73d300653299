const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A UUID as text (any version, either case): the form every id of the API takes. */
export const isUuid = (value: unknown): value is string => typeof value === "string" && UUID.test(value);
