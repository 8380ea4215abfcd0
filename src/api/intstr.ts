/**
 * IntOrString (apimachinery util/intstr): on the wire it is a JSON number or a JSON string, so it
 * is kept as `number | string` here — no wrapper type to convert through.
 */

export type IntOrString = number | string;

/** Whether the value is the int form (a JSON number). */
export function isInt(v: IntOrString | undefined | null): v is number {
  return typeof v === 'number';
}

/** The printed form kube's IntOrString.String() gives: `8080` or `http` (no quotes). */
export function intOrStringText(v: IntOrString): string {
  return String(v);
}

/** `25%` → 25; anything else → undefined. */
export function percentValue(v: IntOrString | undefined | null): number | undefined {
  if (typeof v !== 'string' || !/^[0-9]+%$/.test(v)) return undefined;
  return Number.parseInt(v.slice(0, -1), 10);
}

/**
 * GetScaledValueFromIntOrPercent: an int stays as is; a percentage scales `total`, rounded up
 * (maxSurge) or down (maxUnavailable). Throws kube's messages for malformed values.
 */
export function scaledValue(v: IntOrString | undefined | null, total: number, roundUp: boolean): number {
  if (v === undefined || v === null) throw new Error('nil value for IntOrString');
  if (typeof v === 'number') return v;
  if (!v.endsWith('%')) throw new Error(`invalid type: string is not a percentage`);
  const n = Number(v.slice(0, -1));
  if (!/^-?[0-9]+$/.test(v.slice(0, -1)) || !Number.isFinite(n))
    throw new Error(`invalid value for IntOrString: invalid value ${JSON.stringify(v)}`);
  const scaled = (n * total) / 100;
  return roundUp ? Math.ceil(scaled) : Math.floor(scaled);
}

/** The value a container port reference resolves to, by number or by container port name. */
export function resolvePort(target: IntOrString, namedPorts: { name?: string; containerPort: number }[]): number | undefined {
  if (typeof target === 'number') return target;
  return namedPorts.find((p) => p.name === target)?.containerPort;
}
