import { GraphQLError } from "graphql";

/**
 * The rows bound (PREFECTLITE_MAX_QUERY_ROWS) kept while an operation runs, for an operation
 * whose estimate before it ran passed the bound only through lists without a `limit` (Prefect's
 * own documents nest such lists, and real flows have far fewer rows than their default). Each
 * list read asks for at most the rows left plus one; every row a list field returns is counted,
 * per parent (a row reached through many parents counts each time, as the answer holds it once
 * per parent); past the bound the operation is refused with one error and answers no data.
 */
export class RowBudget {
  private returned = 0;
  /** The refusal, once the operation passed the bound: the whole answer. */
  refusal: GraphQLError | undefined;

  constructor(
    readonly max: number,
    /** The estimate before it ran, for the message: "up to N rows (M of them at path)". */
    private readonly estimate: string,
  ) {}

  /** The most rows one read may return: what is left, plus one to tell that it was not enough. */
  readCap(): number {
    return Math.max(0, this.max - this.returned) + 1;
  }

  /** Count rows a list field returned for one parent; refuse once the operation passes the bound. */
  spend(rows: number, path: readonly (string | number)[]): void {
    this.returned += rows;
    if (this.returned > this.max) throw this.refuse(path);
  }

  /** A read that came back with more rows than the operation has left. */
  checkRead(rows: number, path: readonly (string | number)[]): void {
    if (this.returned + rows > this.max) throw this.refuse(path);
  }

  private refuse(path: readonly (string | number)[]): GraphQLError {
    const where = path.filter((p) => typeof p === "string").join(".");
    this.refusal ??= new GraphQLError(
      `this query could return up to ${this.estimate}, and it returned more than ${this.max.toLocaleString("en-US")} rows ` +
        `(PREFECTLITE_MAX_QUERY_ROWS) by ${where}: the limits of nested lists multiply, so give the lists small limit ` +
        `arguments or query the nested rows separately`,
      { extensions: { code: "VALIDATION", limit: "PREFECTLITE_MAX_QUERY_ROWS", max: this.max } },
    );
    return this.refusal;
  }
}
