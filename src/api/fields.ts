/**
 * Field selectors (apimachinery pkg/fields): `metadata.name=web,spec.nodeName!=n1`, only `=`,
 * `==` and `!=`, with `\,` `\=` `\\` escapes in values. Which fields exist is per resource, so
 * matching takes a callback that reads a field's value from an object.
 */

export interface FieldRequirement {
  field: string;
  operator: '=' | '!=';
  value: string;
}

export class FieldSelectorParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FieldSelectorParseError';
  }
}

/** Splits on commas that are not escaped, keeping escapes for the value unescaper. */
function splitTerms(s: string): string[] {
  if (s === '') return [];
  const terms: string[] = [];
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\') i++;
    else if (s[i] === ',') {
      terms.push(s.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(s.slice(start));
  return terms;
}

function splitTerm(term: string): [string, string, string] | undefined {
  for (let i = 0; i < term.length; i++) {
    for (const op of ['!=', '==', '=']) {
      if (term.startsWith(op, i)) return [term.slice(0, i), op, term.slice(i + op.length)];
    }
  }
  return undefined;
}

export function unescapeValue(s: string): string {
  if (!/[\\,=]/.test(s)) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\') {
      const n = s[i + 1];
      if (n === undefined || !'\\,='.includes(n))
        throw new FieldSelectorParseError(`invalid field selector: invalid escape sequence: \\${n ?? ''}`);
      out += n;
      i++;
    } else if (c === ',' || c === '=') {
      throw new FieldSelectorParseError(`invalid field selector: unescaped character in value: ${c}`);
    } else out += c;
  }
  return out;
}

export function escapeValue(s: string): string {
  return s.replace(/[\\,=]/g, (c) => `\\${c}`);
}

/** fields.ParseSelector. Terms come back sorted, as kube sorts them. */
export function parseFieldSelector(selector: string): FieldRequirement[] {
  const parts = splitTerms(selector).sort();
  const reqs: FieldRequirement[] = [];
  for (const part of parts) {
    if (part === '') continue;
    const t = splitTerm(part);
    if (!t) throw new FieldSelectorParseError(`invalid selector: '${selector}'; can't understand '${part}'`);
    const [field, op, rhs] = t;
    reqs.push({ field, operator: op === '!=' ? '!=' : '=', value: unescapeValue(rhs) });
  }
  return reqs;
}

/** A missing field reads as the empty string, as in kube's fields.Set. */
export function fieldsMatch(reqs: FieldRequirement[], fieldValue: (field: string) => string | undefined): boolean {
  return reqs.every((r) => {
    const v = fieldValue(r.field) ?? '';
    return r.operator === '=' ? v === r.value : v !== r.value;
  });
}

/** The value a selector pins a field to (`metadata.name=x` → "x"), for indexed lookups. */
export function requiresExactMatch(reqs: FieldRequirement[], field: string): string | undefined {
  return reqs.find((r) => r.field === field && r.operator === '=')?.value;
}

export function fieldSelectorToString(reqs: FieldRequirement[]): string {
  return reqs.map((r) => `${r.field}${r.operator}${escapeValue(r.value)}`).join(',');
}

/** Reads a dotted path (`spec.nodeName`, `involvedObject.kind`) from an object as a string. */
export function dottedFieldValue(obj: unknown, path: string): string | undefined {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  if (cur === undefined || cur === null) return undefined;
  return typeof cur === 'string' ? cur : String(cur);
}
