/** The value of one sample line `name{labels} value`, labels in the order prom-client writes them. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const l = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');
  const prefix = l === '' ? `${name} ` : `${name}{${l}} `;
  const line = text.split('\n').find((x) => x.startsWith(prefix));
  return line === undefined ? undefined : Number(line.slice(prefix.length));
}
