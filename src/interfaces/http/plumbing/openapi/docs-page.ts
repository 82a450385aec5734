type Json = Record<string, unknown>;

const esc = (s: unknown): string =>
  String(s).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

/** `code` spans and paragraphs from the little Markdown the descriptions use. */
const prose = (s: unknown): string =>
  typeof s !== 'string'
    ? ''
    : s
        .split(/\n\n+/)
        .map((p) => `<p>${esc(p).replace(/`([^`]+)`/g, '<code>$1</code>')}</p>`)
        .join('');

const pretty = (v: unknown): string => `<pre>${esc(JSON.stringify(v, null, 2))}</pre>`;

const anchor = (method: string, path: string): string =>
  `${method}-${path}`.replace(/[^A-Za-z0-9]+/g, '-').replace(/-+$/, '');

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

/**
 * The API reference as one HTML page for people, rendered on the server from the OpenAPI document:
 * no script, no stylesheet or font from elsewhere, so it reads the same offline. Operations are
 * grouped by tag; each shows who may call it, its parameters, body, answers and error codes, with
 * the schemas and examples folded.
 */
export function renderDocsPage(document: Json): string {
  const info = document.info as Json;
  const paths = document.paths as Record<string, Record<string, Json>>;
  const tags = (document.tags as Json[]).map((t) => String(t.name));
  const components = document.components as Record<string, Record<string, Json>>;
  const ops: Array<{ method: string; path: string; op: Json }> = [];
  for (const [path, item] of Object.entries(paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (op !== undefined) ops.push({ method, path, op });
    }
  }
  const inTag = (tag: string) => ops.filter((o) => (o.op.tags as string[])[0] === tag);

  const nav = tags
    .map(
      (tag) =>
        `<h3>${esc(tag)}</h3><ul>${inTag(tag)
          .map(
            (o) =>
              `<li><a href="#${anchor(o.method, o.path)}">` +
              `<span class="m ${o.method}">${o.method.toUpperCase()}</span> ${esc(o.path)}</a></li>`,
          )
          .join('')}</ul>`,
    )
    .join('');

  const sections = tags
    .map((tag) => {
      const t = (document.tags as Json[]).find((x) => x.name === tag);
      return `<section><h2 id="tag-${esc(tag)}">${esc(tag)}</h2>${prose(t?.description)}${inTag(tag)
        .map((o) => operation(o.method, o.path, o.op, components))
        .join('')}</section>`;
    })
    .join('');

  const schemes = Object.entries(components.securitySchemes ?? {})
    .map(([name, s]) => `<li><b>${esc(name)}</b>: ${prose(s.description)}</li>`)
    .join('');
  const models = Object.entries(components.schemas ?? {})
    .map(([name, s]) => `<details id="schema-${esc(name)}"><summary>${esc(name)}</summary>${pretty(s)}</details>`)
    .join('');

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(info.title)} ${esc(info.version)}</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;margin:0;display:flex;color:#1d2330}
nav{width:320px;height:100vh;overflow:auto;position:sticky;top:0;background:#f4f5f7;
  padding:0 12px;font-size:13px}
nav ul{list-style:none;padding:0;margin:0} nav a{text-decoration:none;color:inherit;display:block;padding:2px 0}
main{flex:1;padding:0 32px 64px;max-width:1000px}
.m{display:inline-block;min-width:52px;font:bold 11px monospace;text-align:center;border-radius:3px;
  color:#fff;padding:1px 4px}
.get{background:#2f7d32}.post{background:#1a5fb4}.delete{background:#c01c28}.put,.patch{background:#b5835a}
.op{border:1px solid #d8dbe0;border-radius:6px;padding:4px 16px;margin:18px 0}
.op h4{font:600 16px monospace;margin:10px 0}
table{border-collapse:collapse;width:100%;font-size:13px}
td,th{border-top:1px solid #e4e6ea;padding:4px 6px;text-align:left;vertical-align:top}
pre{background:#f6f8fa;padding:8px;overflow:auto;font-size:12px} code{background:#f0f1f3;padding:0 3px}
.perm{font-size:13px;color:#555}
</style></head>
<body><nav><h2>${esc(info.title)}</h2><p><a href="/openapi.json">openapi.json</a></p>${nav}
<h3>schemas</h3></nav>
<main><h1>${esc(info.title)} <small>${esc(info.version)}</small></h1>${prose(info.description)}
<h2>Authentication</h2><ul>${schemes}</ul>
<p>The machine-readable document is at <a href="/openapi.json"><code>/openapi.json</code></a> (OpenAPI 3.1).</p>
${sections}
<section><h2 id="schemas">Schemas</h2>${models}</section></main></body></html>
`;
}

function operation(method: string, path: string, op: Json, components: Record<string, Record<string, Json>>): string {
  const params = (op.parameters as Json[]).map((p) => resolve(p, components));
  const paramRows = params
    .map(
      (p) =>
        `<tr><td><code>${esc(p.name)}</code></td><td>${esc(p.in)}</td><td>${p.required === true ? 'yes' : ''}</td>` +
        `<td>${prose(p.description)}<code>${esc(JSON.stringify(p.schema))}</code></td></tr>`,
    )
    .join('');
  const security = op.security as Json[];
  const who =
    op['x-permission'] === 'public'
      ? 'Public: no credential.'
      : `Needs the permission <code>${esc(op['x-permission'])}</code>; credentials: ${security
          .map((s) => (Object.keys(s).length === 0 ? 'none (from this machine)' : Object.keys(s).join(' + ')))
          .join(' or ')}.`;
  const body = op.requestBody as Json | undefined;
  const bodyHtml =
    body === undefined
      ? ''
      : `<h5>Body${body.required === true ? '' : ' (optional)'}</h5>${Object.entries(
          body.content as Record<string, Json>,
        )
          .map(
            ([type, m]) =>
              `<p><code>${esc(type)}</code></p>` +
              (m.example === undefined ? '' : `<p>Example</p>${pretty(m.example)}`) +
              `<details><summary>schema</summary>${pretty(m.schema)}</details>`,
          )
          .join('')}`;
  const responses = Object.entries(op.responses as Record<string, Json>)
    .map(([status, r]) => {
      const content = (r.content ?? {}) as Record<string, Json>;
      const kinds = Object.entries(content)
        .map(([type, m]) => {
          const codes = (((m.schema as Json | undefined)?.properties as Json | undefined)?.code as Json | undefined)
            ?.enum as string[] | undefined;
          return codes === undefined
            ? `<code>${esc(type)}</code><details><summary>schema</summary>${pretty(m.schema)}</details>`
            : `<code>${esc(type)}</code> codes: ${codes.map((c) => `<code>${esc(c)}</code>`).join(' ')}`;
        })
        .join('<br>');
      return `<tr><td><b>${esc(status)}</b></td><td>${esc(r.description)}</td><td>${kinds}</td></tr>`;
    })
    .join('');
  return `<div class="op" id="${anchor(method, path)}">
<h4><span class="m ${method}">${method.toUpperCase()}</span> ${esc(path)}</h4>
<p><b>${esc(op.summary)}</b></p>${prose(op.description)}<p class="perm">${who}</p>
${paramRows === '' ? '' : `<h5>Parameters</h5><table>${paramRows}</table>`}${bodyHtml}
<h5>Answers</h5><table>${responses}</table></div>`;
}

function resolve(p: Json, components: Record<string, Record<string, Json>>): Json {
  const r = p.$ref;
  if (typeof r !== 'string') return p;
  const [, kind, name] = /^#\/components\/([^/]+)\/(.+)$/.exec(r) ?? [];
  return (kind === undefined || name === undefined ? undefined : components[kind]?.[name]) ?? p;
}
