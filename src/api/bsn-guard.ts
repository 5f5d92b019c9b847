// NL API Design Rules: no personal identifiers in URLs (paths and queries end up in proxy logs,
// browser histories and access logs); they belong in a POST body. A burgerservicenummer (BSN)
// is nine digits that pass the elfproef (11-test). This module finds one in a request URL, so the
// request can be refused before it is routed, logged or read. Pure.

/** The elfproef of a BSN: 9·d1 + 8·d2 + … + 2·d8 − 1·d9 is a multiple of 11 (and not all zeros). */
export function passesElfproef(digits: string): boolean {
  if (!/^\d{9}$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < 8; i++) sum += (9 - i) * (digits.charCodeAt(i) - 48);
  sum -= digits.charCodeAt(8) - 48;
  return sum % 11 === 0 && digits !== '000000000';
}

function decodeLoosely(s: string): string {
  // Decode percent-escapes one at a time, so one malformed escape does not hide the rest.
  return s.replace(/(?:%[0-9A-Fa-f]{2})+/g, (m) => {
    try {
      return decodeURIComponent(m);
    } catch {
      return m;
    }
  });
}

/**
 * Whether a request URL (path and query, as sent) holds a run of exactly nine digits that passes
 * the elfproef, before or after percent-decoding. Longer digit runs (a 16-digit BAG id) are not
 * BSNs and are left alone.
 */
export function urlHasBsn(url: string): boolean {
  for (const s of [url, decodeLoosely(url), decodeLoosely(decodeLoosely(url)).replace(/\+/g, ' ')]) {
    for (const m of s.matchAll(/(?<!\d)\d{9}(?!\d)/g)) if (passesElfproef(m[0])) return true;
  }
  return false;
}
