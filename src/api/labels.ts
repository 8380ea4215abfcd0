/**
 * Label selectors (apimachinery pkg/labels): the string form used by `-l` / `?labelSelector=`,
 * the structured metav1.LabelSelector of Deployments and ReplicaSets, matching, and the printed
 * form tables show. Parse errors use kube's wording.
 */

import { type FieldError, fieldErr, fieldErrorString } from './errors.js';
import { isQualifiedName, isValidLabelValue } from './names.js';

export type Labels = Record<string, string>;

export type Operator = '=' | '==' | '!=' | 'in' | 'notin' | 'exists' | '!' | 'gt' | 'lt';

export interface Requirement {
  key: string;
  operator: Operator;
  /** Sorted and de-duplicated, as kube keeps them. */
  values: string[];
}

/**
 * A parsed selector. `nothing` is the selector of a nil LabelSelector: it matches no object
 * (whereas an empty requirement list matches every object).
 */
export interface Selector {
  requirements: Requirement[];
  nothing?: boolean;
}

/** metav1.LabelSelector as it appears in Deployment/ReplicaSet/Service-like specs. */
export interface LabelSelector {
  matchLabels?: Labels | null;
  matchExpressions?: LabelSelectorRequirement[] | null;
}

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | string;
  values?: string[] | null;
}

/** A selector string or structure that does not parse; `message` is kube's text. */
export class SelectorParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SelectorParseError';
  }
}

export const everything = (): Selector => ({ requirements: [] });
export const nothing = (): Selector => ({ requirements: [], nothing: true });

function byKey(a: Requirement, b: Requirement): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

function aggregate(errs: FieldError[]): string {
  const strs = errs.map(fieldErrorString);
  return strs.length === 1 ? strs[0] : `[${strs.join(', ')}]`;
}

/** NewRequirement: validates the key, the value count for the operator and every value. */
export function newRequirement(key: string, operator: Operator, values: string[], path = ''): Requirement {
  const errs: FieldError[] = [];
  const child = (c: string) => (path ? `${path}.${c}` : c);
  const keyErrs = isQualifiedName(key);
  if (keyErrs.length) errs.push(fieldErr.invalid(child('key'), key, keyErrs.join('; ')));
  const valuePath = child('values');
  switch (operator) {
    case 'in':
    case 'notin':
      if (values.length === 0) errs.push(fieldErr.invalid(valuePath, values, "for 'in', 'notin' operators, values set can't be empty"));
      break;
    case '=':
    case '==':
    case '!=':
      if (values.length !== 1) errs.push(fieldErr.invalid(valuePath, values, 'exact-match compatibility requires one single value'));
      break;
    case 'exists':
    case '!':
      if (values.length !== 0) errs.push(fieldErr.invalid(valuePath, values, 'values set must be empty for exists and does not exist'));
      break;
    case 'gt':
    case 'lt':
      if (values.length !== 1) errs.push(fieldErr.invalid(valuePath, values, "for 'Gt', 'Lt' operators, exactly one value is required"));
      values.forEach((v, i) => {
        if (!/^[-+]?[0-9]+$/.test(v))
          errs.push(fieldErr.invalid(`${valuePath}[${i}]`, v, "for 'Gt', 'Lt' operators, the value must be an integer"));
      });
      break;
    default:
      errs.push(fieldErr.notSupported(child('operator'), operator, ['!', '=', '==', 'in', '!=', 'notin', 'exists', 'gt', 'lt']));
  }
  values.forEach((v, i) => {
    const msgs = isValidLabelValue(v);
    if (msgs.length) errs.push(fieldErr.invalid(`${valuePath}[${i}][${key}]`, v, msgs.join('; ')));
  });
  if (errs.length) throw new SelectorParseError(aggregate(errs));
  return { key, operator, values: [...new Set(values)].sort() };
}

// ---------------------------------------------------------------------------------------------
// String form: lexer and parser shaped like kube's, so the same inputs fail with the same words.

type Tok = 'id' | 'in' | 'notin' | '!' | '!=' | '(' | ')' | ',' | '=' | '==' | '>' | '<' | 'end' | 'error';

const specials = new Set(['=', '!', '(', ')', ',', '>', '<']);
const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\r' || c === '\n';

function lex(input: string): { tok: Tok; lit: string }[] {
  const out: { tok: Tok; lit: string }[] = [];
  let i = 0;
  while (true) {
    while (i < input.length && isSpace(input[i])) i++;
    if (i >= input.length) {
      out.push({ tok: 'end', lit: '' });
      return out;
    }
    const c = input[i];
    if (specials.has(c)) {
      const two = input.slice(i, i + 2);
      if (two === '!=' || two === '==') {
        out.push({ tok: two, lit: two });
        i += 2;
      } else {
        out.push({ tok: c as Tok, lit: c });
        i++;
      }
      continue;
    }
    let j = i;
    while (j < input.length && !isSpace(input[j]) && !specials.has(input[j])) j++;
    const lit = input.slice(i, j);
    out.push({ tok: lit === 'in' ? 'in' : lit === 'notin' ? 'notin' : 'id', lit });
    i = j;
  }
}

class Parser {
  private pos = 0;
  constructor(private readonly items: { tok: Tok; lit: string }[]) {}

  /** In the "values" context the keywords `in`/`notin` are plain identifiers. */
  private peek(values = true): { tok: Tok; lit: string } {
    const it = this.items[Math.min(this.pos, this.items.length - 1)];
    return values && (it.tok === 'in' || it.tok === 'notin') ? { tok: 'id', lit: it.lit } : it;
  }

  private next(values = true): { tok: Tok; lit: string } {
    const it = this.peek(values);
    this.pos++;
    return it;
  }

  parse(): Requirement[] {
    const reqs: Requirement[] = [];
    while (true) {
      const { tok, lit } = this.peek();
      if (tok === 'end') return reqs;
      if (tok !== 'id' && tok !== '!') throw new SelectorParseError(`found '${lit}', expected: !, identifier, or 'end of string'`);
      let r: Requirement;
      try {
        r = this.requirement();
      } catch (e) {
        throw new SelectorParseError(`unable to parse requirement: ${(e as Error).message}`);
      }
      reqs.push(r);
      const t = this.next();
      if (t.tok === 'end') return reqs;
      if (t.tok !== ',') throw new SelectorParseError(`found '${t.lit}', expected: ',' or 'end of string'`);
      const t2 = this.peek();
      if (t2.tok !== 'id' && t2.tok !== '!') throw new SelectorParseError(`found '${t2.lit}', expected: identifier after ','`);
    }
  }

  private requirement(): Requirement {
    let negated = false;
    let t = this.next();
    if (t.tok === '!') {
      negated = true;
      t = this.next();
    }
    if (t.tok !== 'id') throw new Error(`found '${t.lit}', expected: identifier`);
    const key = t.lit;
    const keyErrs = isQualifiedName(key);
    if (keyErrs.length) throw new Error(fieldErrorString(fieldErr.invalid('', key, keyErrs.join('; '))));
    const after = this.peek().tok;
    if (after === 'end' || after === ',') return newRequirement(key, negated ? '!' : 'exists', []);
    if (negated) throw new Error(`found '${this.peek().lit}', expected: ',' or 'end of string'`);
    const op = this.next(false);
    const ops: Partial<Record<Tok, Operator>> = { in: 'in', notin: 'notin', '=': '=', '==': '==', '!=': '!=', '>': 'gt', '<': 'lt' };
    const operator = ops[op.tok];
    if (!operator) throw new Error(`found '${op.lit}', expected: in, notin, =, ==, !=, gt, lt`);
    const values = operator === 'in' || operator === 'notin' ? this.setValues() : this.exactValue();
    return newRequirement(key, operator, values);
  }

  private exactValue(): string[] {
    const t = this.peek();
    if (t.tok === 'end' || t.tok === ',') return [''];
    this.next();
    if (t.tok === 'id') return [t.lit];
    throw new Error(`found '${t.lit}', expected: identifier`);
  }

  private setValues(): string[] {
    const open = this.next();
    if (open.tok !== '(') throw new Error(`found '${open.lit}' expected: '('`);
    const first = this.peek();
    if (first.tok === ')') {
      this.next();
      return [''];
    }
    if (first.tok !== 'id' && first.tok !== ',') throw new Error(`found '${first.lit}', expected: ',', ')' or identifier`);
    const values = new Set<string>();
    while (true) {
      const t = this.next();
      if (t.tok === 'id') {
        values.add(t.lit);
        const t2 = this.peek();
        if (t2.tok === ',') {
          this.next();
          if (this.peek().tok === ')') values.add('');
          continue;
        }
        if (t2.tok === ')') break;
        throw new Error(`found '${t2.lit}', expected: ',' or ')'`);
      }
      if (t.tok === ',') {
        // "(,a" / "a,,b" / "a,)" all mean an empty value is in the set.
        values.add('');
        if (this.peek().tok === ')') break;
        continue;
      }
      throw new Error(`found '${t.lit}', expected: ',', or identifier`);
    }
    const close = this.next();
    if (close.tok !== ')') throw new Error(`found '${close.lit}', expected: ')'`);
    return [...values];
  }
}

/** labels.Parse: `a=b,c!=d,e in (x,y),!f,g`. Throws SelectorParseError with kube's message. */
export function parseSelector(input: string): Selector {
  const reqs = new Parser(lex(input)).parse();
  return { requirements: reqs.sort(byKey) };
}

/** A selector requiring every key=value of the set (labels.SelectorFromSet). */
export function selectorFromSet(set: Labels | null | undefined): Selector {
  const keys = Object.keys(set ?? {}).sort();
  return { requirements: keys.map((k) => newRequirement(k, '=', [(set as Labels)[k]])) };
}

/**
 * metav1.LabelSelectorAsSelector: nil → matches nothing; empty → matches everything. Throws
 * SelectorParseError for invalid keys/values/operators.
 */
export function labelSelectorAsSelector(ls: LabelSelector | null | undefined): Selector {
  if (!ls) return nothing();
  const labels = ls.matchLabels ?? {};
  const exprs = ls.matchExpressions ?? [];
  if (Object.keys(labels).length + exprs.length === 0) return everything();
  const reqs: Requirement[] = [];
  for (const [k, v] of Object.entries(labels)) reqs.push(newRequirement(k, '=', [v]));
  for (const e of exprs) {
    const op = ({ In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!' } as Record<string, Operator>)[e.operator];
    if (!op) throw new SelectorParseError(`${JSON.stringify(e.operator)} is not a valid label selector operator`);
    reqs.push(newRequirement(e.key, op, [...(e.values ?? [])]));
  }
  return { requirements: reqs.sort(byKey) };
}

export function requirementMatches(r: Requirement, labels: Labels): boolean {
  const has = Object.hasOwn(labels, r.key);
  const v = labels[r.key];
  switch (r.operator) {
    case '=':
    case '==':
    case 'in':
      return has && r.values.includes(v);
    case '!=':
    case 'notin':
      return !has || !r.values.includes(v);
    case 'exists':
      return has;
    case '!':
      return !has;
    case 'gt':
    case 'lt': {
      if (!has || !/^[-+]?[0-9]+$/.test(v)) return false;
      const n = Number(v);
      const bound = Number(r.values[0]);
      return r.operator === 'gt' ? n > bound : n < bound;
    }
  }
}

export function matches(sel: Selector, labels: Labels | null | undefined): boolean {
  if (sel.nothing) return false;
  const l = labels ?? {};
  return sel.requirements.every((r) => requirementMatches(r, l));
}

export function isEmpty(sel: Selector): boolean {
  return !sel.nothing && sel.requirements.length === 0;
}

export function requirementToString(r: Requirement): string {
  const prefix = r.operator === '!' ? '!' : '';
  if (r.operator === 'exists' || r.operator === '!') return `${prefix}${r.key}`;
  const opText: Record<string, string> = { '=': '=', '==': '==', '!=': '!=', in: ' in ', notin: ' notin ', gt: '>', lt: '<' };
  const vals = r.values.join(',');
  return r.operator === 'in' || r.operator === 'notin' ? `${r.key}${opText[r.operator]}(${vals})` : `${r.key}${opText[r.operator]}${vals}`;
}

/** Selector.String(): `app=webui,tier in (a,b)`; empty for everything and for nothing. */
export function selectorToString(sel: Selector): string {
  return sel.requirements.map(requirementToString).join(',');
}

/** labels.FormatLabels: `a=b,c=d` sorted by key, or `<none>`. */
export function formatLabels(labels: Labels | null | undefined): string {
  const keys = Object.keys(labels ?? {}).sort();
  if (keys.length === 0) return '<none>';
  return keys.map((k) => `${k}=${(labels as Labels)[k]}`).join(',');
}
