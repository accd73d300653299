/**
 * Prefect Server is multi-tenant in its schema and single-tenant in practice; prefectlite has
 * exactly one tenant, always there, with this id. Prefect's client asks for it (`tenant { id }`)
 * and sends it back as `tenant_id` on its inputs, where any other id is refused.
 */
export const DEFAULT_TENANT = {
  id: "00000000-0000-4000-8000-000000000000",
  name: "default",
  slug: "default",
} as const;
