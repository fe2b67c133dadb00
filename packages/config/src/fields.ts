// The value types the config parts are made of: each parses one environment variable's text.
import { createPublicKey } from 'node:crypto';
import net from 'node:net';
import { z } from 'zod';

export const port = z.coerce.number().int().min(1).max(65_535);

export const flag = z
  .enum(['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off'])
  .transform((value) => ['1', 'true', 'yes', 'on'].includes(value));

/** Text whose empty value means unset. */
export const optionalText = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .optional();

/** A duration such as `90s`, `15m`, `4h` or `500ms`, in minutes (fractions allowed). */
export const duration = (what: string) =>
  z
    .string()
    .trim()
    .regex(/^\d+(\.\d+)?(ms|s|m|h)$/, `${what} must be a duration such as 90s, 15m or 4h`)
    .transform((value) => {
      const [, amount = '0', unit = 'm'] = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(value) ?? [];
      const perMinute = { ms: 60_000, s: 60, m: 1, h: 1 / 60 }[unit as 'ms' | 's' | 'm' | 'h'];
      return Number(amount) / perMinute;
    })
    .refine((minutes) => minutes > 0, `${what} must be longer than zero`);

/** A comma-separated list: entries trimmed, empty ones dropped, each parsed by `entry`. */
export const commaList = <T extends z.ZodType<unknown, string>>(entry: T) =>
  z
    .string()
    .transform((text) =>
      text
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== ''),
    )
    .pipe(z.array(entry));

/** `key=value,…` pairs, each value parsed by `value`. */
export const pairs = <T extends z.ZodType>(what: string, key: z.ZodType<string>, value: T) =>
  z
    .string()
    .trim()
    .transform((text, context) => {
      const entries: Array<[string, z.infer<T>]> = [];
      for (const part of text
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== '')) {
        const [name = '', raw = ''] = part.split('=').map((item) => item.trim());
        const parsedKey = key.safeParse(name);
        const parsedValue = value.safeParse(raw);
        if (!part.includes('=') || !parsedKey.success || !parsedValue.success) {
          context.addIssue({ code: 'custom', message: `${what}: "${part}" is not key=value with a valid key and value` });
          return z.NEVER;
        }
        entries.push([parsedKey.data, parsedValue.data]);
      }
      return Object.fromEntries(entries);
    });

/** `host:port` (a name, an IPv4 address or a bracketed IPv6 address). */
export const BROKER = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):\d{1,5}$/;

export function publicKeyParses(pem: string): boolean {
  try {
    return createPublicKey(pem).type === 'public';
  } catch {
    return false;
  }
}

/** A host name, an IP address or a CIDR block. */
export function hostOrCidr(entry: string): boolean {
  const [address = '', prefix, extra] = entry.split('/');
  const family = net.isIP(address);
  if (prefix === undefined) return family !== 0 || /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(entry);
  const bits = Number(prefix);
  return family !== 0 && extra === undefined && /^\d+$/.test(prefix) && bits <= (family === 4 ? 32 : 128);
}
