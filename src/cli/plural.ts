/** `1 row`, `2 rows`, `1,000 rows`: a count and its noun, agreeing in number (en-US digit grouping). */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count.toLocaleString("en-US")} ${count === 1 ? one : many}`;
}
