/**
 * A flow group's versions are unique: (flow_group_id, version) gets a unique index in place of
 * the plain one over the same columns. Versions have always been assigned max + 1 inside the
 * registering write transaction (writers are serial on SQLite), so no existing database holds a
 * duplicate; the index makes that a rule the database keeps (PostgreSQL's schema has it too).
 */
export const sql = `
DROP INDEX flow_flow_group;
CREATE UNIQUE INDEX flow_flow_group_version ON flow(flow_group_id, version);
`;
