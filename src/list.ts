// Small list helpers shared by modules that must not import each other's AWS clients.

/** Splits items into consecutive batches of at most `size` (AWS APIs cap how many ids a call takes). */
export function chunk<T>(items: T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}
