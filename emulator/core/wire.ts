// Wire encodings of the AWS protocols the SDK clients speak: Query/EC2 form bodies and REST-XML bodies in, XML out.

/** Parses `A.member.1.B=x` (Query) and `Filter.1.Value.1=x` (EC2) into nested objects and arrays. */
export function parseQueryParams(body: string): { action: string; version: string; params: Record<string, unknown> } {
  const form = new URLSearchParams(body);
  const params: Record<string, unknown> = {};
  for (const [key, value] of form) {
    if (key === 'Action' || key === 'Version') continue;
    const path = key.split('.').filter((seg) => seg !== 'member' && seg !== 'entry' && seg !== 'item');
    let node: Record<string, unknown> | unknown[] = params;
    path.forEach((seg, i) => {
      const last = i === path.length - 1;
      const nextIsIndex = !last && /^\d+$/.test(path[i + 1] as string);
      const slot: string | number = /^\d+$/.test(seg) ? Number(seg) - 1 : seg;
      const container = node as Record<string | number, unknown>;
      if (last) {
        container[slot] = value;
        return;
      }
      container[slot] ??= nextIsIndex ? [] : {};
      node = container[slot] as Record<string, unknown> | unknown[];
    });
  }
  return { action: form.get('Action') ?? '', version: form.get('Version') ?? '', params };
}

export const escapeXml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Serializes a value as XML elements; arrays become `<name><member>..</member></name>` (Query) or `<item>` (EC2). */
export function toXml(name: string, value: unknown, listItem: 'member' | 'item'): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) {
    return `<${name}>${value.map((v) => toXml(listItem, v, listItem)).join('')}</${name}>`;
  }
  if (value instanceof Date) return `<${name}>${value.toISOString()}</${name}>`;
  if (typeof value === 'object') {
    const inner = Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => toXml(k, v, listItem))
      .join('');
    return `<${name}>${inner}</${name}>`;
  }
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

/** The region in a SigV4 Authorization header's credential scope, if any. */
export function signingRegion(authorization: string | undefined): string | undefined {
  const m = /Credential=[^/]+\/\d{8}\/([^/]+)\//.exec(authorization ?? '');
  return m?.[1];
}

/** An XML element: its name without prefix, its child elements and its text. */
export interface XmlElement {
  name: string;
  children: XmlElement[];
  text: string;
}

const unescapeXml = (s: string): string =>
  s.replace(/&(#x[0-9a-fA-F]+|#\d+|lt|gt|amp|quot|apos);/g, (_, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(Number.parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(Number(e.slice(1)));
    return ({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" } as Record<string, string>)[e] ?? '';
  });

/** Parses a REST-XML request body into elements and text (attributes are ignored, CDATA is not supported). Throws when malformed. */
export function parseXml(xml: string): XmlElement {
  const root: XmlElement = { name: '', children: [], text: '' };
  const stack: XmlElement[] = [root];
  const tag = /<(\/?)([A-Za-z_][\w.:-]*)[^>]*?(\/?)>|<\?[^>]*\?>|<!--[\s\S]*?-->/g;
  let last = 0;
  for (let m = tag.exec(xml); m; m = tag.exec(xml)) {
    const top = stack[stack.length - 1] as XmlElement;
    top.text += unescapeXml(xml.slice(last, m.index));
    last = tag.lastIndex;
    const [, closing, qname, selfClosing] = m;
    if (!qname) continue;
    const name = qname.slice(qname.indexOf(':') + 1);
    if (closing) {
      if (top.name !== name || stack.length === 1) throw new Error(`unexpected </${name}>`);
      stack.pop();
      continue;
    }
    const el: XmlElement = { name, children: [], text: '' };
    top.children.push(el);
    if (!selfClosing) stack.push(el);
  }
  if (stack.length !== 1 || root.children.length !== 1 || xml.slice(last).trim()) throw new Error('unbalanced XML');
  return root.children[0] as XmlElement;
}
