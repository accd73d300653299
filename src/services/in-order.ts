/**
 * `fn` over `items` one after another (never two at once: each may write, and a transaction's
 * writes are sequential), the results in order.
 */
export async function mapInOrder<T, R>(items: readonly T[], fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i++) results.push(await fn(items[i]!, i));
  return results;
}
