//! What people type or paste into the code field, made into the digits the service expects.

/**
 * Keeps the digits of `raw`, at most `length` of them, so a pasted "123 456", "123-456" or
 * "Your code: 123456" all become "123456". Full-width digits (from some IMEs) count too.
 */
export function normalizeCode(raw: string, length = 6): string {
  const ascii = raw.replace(/[\uFF10-\uFF19]/g, (d) => String(d.charCodeAt(0) - 0xff10));
  return ascii.replace(/\D/g, '').slice(0, length);
}

/** Whether `code` is complete. */
export function isCompleteCode(code: string, length = 6): boolean {
  return code.length === length && /^\d+$/.test(code);
}
