import { getOperationAST } from "graphql";
import type { Plugin } from "graphql-yoga";
import type { ApiContext } from "../api/context.ts";
import { checkDocumentShape, checkOperation, checkQueryText } from "../api/query-limits.ts";

/**
 * The query limits (src/api/query-limits.ts) in graphql-yoga's pipeline, for what does not take
 * the JSON fast path (GET, other Accept headers, batches): at parse, validate and execute.
 */

export function queryLimitsPlugin(): Plugin<Record<string, unknown>> {
  return {
    onParse({ params }) {
      const source = params.source as string | { body: string };
      const error = checkQueryText(typeof source === "string" ? source : source.body);
      if (error) throw error;
    },
    onValidate({ params, setResult }) {
      const errors = checkDocumentShape(params.documentAST);
      if (errors.length) setResult(errors);
    },
    onExecute({ args, setResultAndStopExecution, extendContext }) {
      const operation = getOperationAST(args.document, args.operationName);
      if (!operation) return;
      const reads = (args.contextValue as Partial<ApiContext> | undefined)?.reads;
      const { errors, rowBudget } = checkOperation(args.schema, args.document, operation, args.variableValues as Record<string, unknown> | undefined, reads);
      if (errors.length) return setResultAndStopExecution({ errors });
      if (!rowBudget) return;
      extendContext({ rowBudget });
      return {
        // Past the rows bound the operation answers its one refusal, no data.
        onExecuteDone({ setResult }) {
          if (rowBudget.refusal) setResult({ data: null, errors: [rowBudget.refusal] });
        },
      };
    },
  };
}
