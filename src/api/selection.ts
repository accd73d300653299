import { Kind, type FieldNode, type GraphQLResolveInfo, type SelectionSetNode } from "graphql";
import { TABLE_DECLARATIONS, type TableName } from "../services/read-model.ts";

/**
 * The columns a field's selection needs from `table`: the selected columns plus the key column
 * of every selected relation (or relation aggregate). Computed once per field of a (cached) document.
 */
export function selectedColumns(table: TableName, info: GraphQLResolveInfo): string[] {
  const nodes = info.fieldNodes;
  if (nodes.length === 1) {
    const cached = cache.get(nodes[0]!);
    if (cached) return cached;
  }
  const decl = TABLE_DECLARATIONS[table];
  const columns = new Set<string>();
  const names = new Set<string>();
  for (const node of nodes) collectNames(node.selectionSet, info, names, new Set());
  for (const name of names) {
    if (Object.hasOwn(decl.columns, name) && !decl.hidden?.includes(name)) columns.add(name);
    else {
      const relation = name.endsWith("_aggregate") ? name.slice(0, -"_aggregate".length) : name;
      if (Object.hasOwn(decl.relations, relation)) columns.add(decl.relations[relation]!.from);
    }
  }
  const result = [...columns];
  if (nodes.length === 1) cache.set(nodes[0]!, result);
  return result;
}

const cache = new WeakMap<FieldNode, string[]>();

/** Field names in a selection set, through fragments (directives ignored: reading more is harmless). */
function collectNames(set: SelectionSetNode | undefined, info: GraphQLResolveInfo, names: Set<string>, seen: Set<string>): void {
  if (!set) return;
  for (const selection of set.selections) {
    if (selection.kind === Kind.FIELD) names.add(selection.name.value);
    else if (selection.kind === Kind.INLINE_FRAGMENT) collectNames(selection.selectionSet, info, names, seen);
    else if (!seen.has(selection.name.value)) {
      seen.add(selection.name.value);
      collectNames(info.fragments[selection.name.value]?.selectionSet, info, names, seen);
    }
  }
}
